#!/usr/bin/env python3
"""Soak (issue 10): `devwatch up` on the website and service samples for a
long time at 10 edits a second in all, sampling each devwatch process's RSS
and open descriptors; after a warm-up neither may grow (the mean of the
last quarter of the samples within 5% of the first quarter's). Not in CI:
it runs for an hour by default.

Each sample runs in a copy of its own folder with its host port set to 0,
so the soak can run beside anything holding the samples' ports; that is
the only change. Edits: website pages (a sync), partials (a sync and the
run step), and one in ten on the service source (a sync and a restart).
At the end, each container's synced folder must equal the tree within a
minute (the last updates may still be in flight).

Usage: soak.py DEVWATCH SRC_DIR [--minutes N] [--warmup N] [--rate N]
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

DEVWATCH, SRC = sys.argv[1], sys.argv[2]


def arg(name, default):
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


MINUTES, WARMUP, RATE = arg("--minutes", 60), arg("--warmup", 5), arg("--rate", 10)
TAG = "dwsoak%d" % os.getpid()


def copy_sample(tmp, name):
    dst = os.path.join(tmp, name)
    shutil.copytree(os.path.join(SRC, "samples", name), dst,
                    ignore=shutil.ignore_patterns(".devwatch"))
    proj = os.path.join(dst, "devwatch.json")
    text = open(proj).read()
    text = re.sub(r'"name": "[^"]*"', '"name": "%s%s"' % (TAG, name), text, count=1)
    text = re.sub(r'"host": [0-9]+', '"host": 0', text)
    open(proj, "w").write(text)
    return dst, proj


def start(proj, log):
    p = subprocess.Popen([DEVWATCH, "up", "-f", proj], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 600
    while time.time() < deadline:
        if p.poll() is not None:
            raise SystemExit("devwatch up exited early; see %s" % log.name)
        if "ready in" in open(log.name, errors="replace").read():
            return p
        time.sleep(0.2)
    raise SystemExit("not ready in time")


def sample(pid):
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def flat(values, warm):
    """Flat: no growth after the warm-up. The mean of the last quarter of
    the samples is within 5% of the first quarter's. (A single sample may
    be one descriptor above the rest while an exec session reopens; with
    17 descriptors that alone is 6%, and it is not a leak.)"""
    v = values[warm:]
    if len(v) < 4:
        return False, 0, 0, 0
    q = len(v) // 4
    first, last = statistics.mean(v[:q]), statistics.mean(v[-q:])
    return abs(last - first) <= first * 0.05, statistics.mean(v), min(v), max(v)


def main():
    tmp = tempfile.mkdtemp(prefix="dwsoak.")
    keep = False
    procs = []
    try:
        web, web_proj = copy_sample(tmp, "website")
        svc, svc_proj = copy_sample(tmp, "service")
        for proj, name in ((web_proj, "website"), (svc_proj, "service")):
            procs.append((name, start(proj, open(os.path.join(tmp, name + ".log"), "w"))))
        pages = [os.path.join(web, "site", "index.html"),
                 os.path.join(web, "site", "pages", "blog.html"),
                 os.path.join(web, "site", "partials", "header.html")]
        source = os.path.join(svc, "app", "app.py")
        originals = {p: open(p).read() for p in pages + [source]}
        samples = {name: [] for name, _ in procs}
        t_end = time.time() + MINUTES * 60
        n = 0
        next_sample = 0
        while time.time() < t_end:
            n += 1
            if n % 10 == 0:
                path = source
                text = originals[path] + "\n# soak %d\n" % n
            else:
                path = pages[n % len(pages)]
                text = originals[path] + "\n<!-- soak %d -->\n" % n
            with open(path, "w") as f:
                f.write(text)
            if time.time() >= next_sample:
                for name, p in procs:
                    samples[name].append((time.time(),) + sample(p.pid))
                next_sample = time.time() + 5
            time.sleep(1.0 / RATE)
        time.sleep(5)
        warm = int(WARMUP * 60 / 5)
        ok = True
        print("soak: %.0f minutes, %d edits (%.1f/s), warm-up %.0f min" %
              (MINUTES, n, n / (MINUTES * 60), WARMUP))
        for name, rows in samples.items():
            rf, rm, rlo, rhi = flat([r[1] for r in rows], warm)
            ff, fm, flo, fhi = flat([r[2] for r in rows], warm)
            print("%s: RSS mean %.0f KiB, min %d, max %d (%s); fds mean %.1f, min %d, max %d (%s)"
                  % (name, rm, rlo, rhi, "flat" if rf else "NOT flat", fm, flo, fhi,
                     "flat" if ff else "NOT flat"))
            ok = ok and rf and ff
            # The shape, not only the verdict: a mean per 10 minutes, so a
            # history that fills to its bound reads apart from a leak.
            t0 = rows[0][0]
            buckets = {}
            for t, rss, fds in rows:
                buckets.setdefault(int((t - t0) // 600), []).append((rss, fds))
            print("%s: per 10 min, RSS KiB / fds: %s" % (name, "  ".join(
                "%d-%d' %.0f/%.1f" % (b * 10, b * 10 + 10, statistics.mean(r for r, _ in v),
                                      statistics.mean(f for _, f in v))
                for b, v in sorted(buckets.items()))))
        for cdir, local, name, extra in (("/www", os.path.join(web, "site"), "website", ["blog.html"]),
                                         ("/app", os.path.join(svc, "app"), "service", ["__pycache__*"])):
            cmd = [sys.executable, os.path.join(SRC, "tests", "system", "treecmp.py"),
                   "%s%s-%s-1" % (TAG, name, "web" if name == "website" else "api"), cdir, local]
            for e in extra:
                cmd += ["--extra", e]
            # Quiet first: the last edits may still be in flight (a
            # restart_container update takes a second or more).
            deadline = time.time() + 60
            while True:
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode == 0 or time.time() > deadline:
                    break
                time.sleep(1)
            print("%s: %s" % (name, r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr.strip()))
            ok = ok and r.returncode == 0
        print("soak: %s" % ("passed" if ok else "FAILED"))
        if not ok:
            # What devwatch said: kept with the copies, for the post-mortem.
            keep = True
            for name, _ in procs:
                print("--- %s log: %s (last lines)" % (name, os.path.join(tmp, name + ".log")))
                with open(os.path.join(tmp, name + ".log"), errors="replace") as f:
                    print("".join(f.readlines()[-40:]), end="")
        sys.exit(0 if ok else 1)
    finally:
        for _, p in procs:
            p.send_signal(signal.SIGINT)
        for _, p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        for name in ("website", "service"):
            subprocess.run("docker ps -aq --filter label=dev.devwatch.project=%s%s | "
                           "xargs -r docker rm -f" % (TAG, name), shell=True, capture_output=True)
            subprocess.run("docker images --format '{{.Repository}}:{{.Tag}}' 'devwatch/%s%s-*' | "
                           "xargs -r docker rmi" % (TAG, name), shell=True, capture_output=True)
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
