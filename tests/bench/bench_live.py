#!/usr/bin/env python3
"""Live-update benchmarks (issues 4 and 15) on the website sample, in one run.

  latency   save-to-served: from write() returning to the first HTTP GET that
            returns the new content, over N edits (default 200); p50/p95/p99
            for devwatch (its own agent), for devwatch with the shell agent
            forced (DEVWATCH_AGENT=sh, the fast path before issue 15), and
            for the hand-rolled baseline `inotifywait -m -r | docker cp`
            against a container of the same image.
  scratch   the same on a FROM scratch image (a static busybox at /busybox,
            no /bin/sh): devwatch's agent, against the archive API
            (DEVWATCH_AGENT=archive: what such an image got before).
            Also the agent's size and its first-connect time (HEAD, PUT of
            the agent, exec, hello) from devwatch's debug log.
  pairs     devwatch's agent and the shell agent alternately, N pairs
            (--pairs, default 3) of N edits each: on a shared machine,
            load drifts within a run, and alternating spreads it evenly.
  interleaved  devwatch's agent and the shell agent at once, in two
            projects, edits alternating between them (N edits each): both
            see the same load, which on a shared machine drifts too much
            for runs one after the other to compare.
  runstep   the same with a trivial run step on every change.
  bulk      5,000 files of 1 KB to 100 KB moved in at once, from the
            move to all of them in the container (checked by count and
            content once devwatch reports it applied), and devwatch's own
            first-event-to-applied time; beside it, the same files piped by
            hand as one tar through `docker exec -i` into a new container.
            The two alternate which goes first, and read one folder made
            once.
  bulk-debian  the same into a debian:bookworm container (GNU tar, not
            busybox's), with the same sync rule: the container's own tar
            is most of the time, so the image matters.

Usage: bench_live.py DEVWATCH SRC_DIR [latency] [scratch] [pairs] [interleaved] [runstep]
                     [bulk] [bulk-debian]
                     [--edits N] [--bulk-runs N] [--pairs N]
"""
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

DEVWATCH, SRC = sys.argv[1], sys.argv[2]
BULK_RUNS = int(sys.argv[sys.argv.index("--bulk-runs") + 1]) if "--bulk-runs" in sys.argv else 3
PAIRS = int(sys.argv[sys.argv.index("--pairs") + 1]) if "--pairs" in sys.argv else 3
EDITS = int(sys.argv[sys.argv.index("--edits") + 1]) if "--edits" in sys.argv else 200
NAME = "dwbench%d" % os.getpid()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def get(port, path="/"):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", path)
        body = c.getresponse().read()
        c.close()
        return body
    except OSError:
        return b""


def measure(port, page, n, label):
    lat = []
    for i in range(n):
        body = ("<p>%s edit %d %f</p>\n" % (label, i, random.random())).encode()
        with open(page, "wb") as f:
            f.write(body)
        t0 = time.perf_counter()
        while get(port, "/" + os.path.basename(page)) != body:
            if time.perf_counter() - t0 > 10:
                raise SystemExit("%s: edit %d not served within 10 s" % (label, i))
        lat.append((time.perf_counter() - t0) * 1000)
    return lat


def project(tmp, run_step):
    d = os.path.join(tmp, "website")
    shutil.copytree(os.path.join(SRC, "samples/website"), d,
                    ignore=shutil.ignore_patterns(".devwatch"))
    cfg = open(os.path.join(d, "devwatch.json")).read()
    cfg = cfg.replace('"name": "website"', '"name": "%s"' % NAME)
    cfg = re.sub(r'"host": [0-9]+', '"host": 0', cfg)
    if run_step:
        cfg = cfg.replace('{ "run": { "cmd": "sh /www/build.sh"',
                          '{ "run": { "cmd": "true" } },\n        { "run": { "cmd": "sh /www/build.sh"')
    open(os.path.join(d, "devwatch.json"), "w").write(cfg)
    return d


def scratch_project(tmp):
    """The website's tree and sync rule in a FROM scratch image: one static
    busybox at /busybox serving /www, no shell on the PATH."""
    d = project(tmp, False)
    shutil.copy("/bin/busybox", os.path.join(d, "busybox"))
    with open(os.path.join(d, "Dockerfile"), "w") as f:
        f.write('FROM scratch\nCOPY busybox /busybox\nCOPY site /www\n'
                'CMD ["/busybox", "httpd", "-f", "-p", "80", "-h", "/www"]\n')
    with open(os.path.join(d, "devwatch.json"), "w") as f:
        json.dump({"name": NAME, "containers": {"web": {
            "build": {"context": ".", "dockerfile": "Dockerfile"},
            "ports": ["0:80"],
            "readiness": {"http": "/", "port": 80},
            "live_update": [{"sync": {"from": "site", "to": "/www"}}]}}}, f)
    return d


def first_connect(log):
    """The agent's first-connect time in ms from the debug log, and whether
    it was copied in."""
    for l in open(log).read().splitlines():
        m = re.search(r"agent: ready in \S+ after ([0-9.]+) ms( \(copied in\))?", l)
        if m:
            return float(m.group(1)), bool(m.group(2))
    return None, False


def debian_project(tmp):
    """The website's tree and sync rule, in a debian:bookworm container."""
    d = project(tmp, False)
    with open(os.path.join(d, "Dockerfile"), "w") as f:
        f.write('FROM debian:bookworm\nCOPY site /www\nCMD ["sleep", "infinity"]\n')
    with open(os.path.join(d, "devwatch.json"), "w") as f:
        json.dump({"name": NAME, "containers": {"web": {
            "build": {"context": ".", "dockerfile": "Dockerfile"},
            "readiness": {"cmd": ["true"]},
            "live_update": [{"sync": {"from": "site", "to": "/www"}}]}}}, f)
    return d


def up(d, agent=None, verbose=False):
    log = open(d + "-up.log", "w+")
    env = dict(os.environ)
    env.pop("DEVWATCH_AGENT", None)
    if agent:
        env["DEVWATCH_AGENT"] = agent
    p = subprocess.Popen([DEVWATCH, "up", "-f", os.path.join(d, "devwatch.json")] + (["-v"] if verbose else []),
                         stdout=log, stderr=subprocess.STDOUT, env=env)
    t = time.time()
    # The watcher starts before the containers do: wait for both.
    while "watching" not in open(log.name).read() or "ready in" not in open(log.name).read():
        if p.poll() is not None or time.time() - t > 300:
            raise SystemExit("up failed:\n" + open(log.name).read())
        time.sleep(0.05)
    st = json.loads(subprocess.run([DEVWATCH, "status", "--json", "-f", os.path.join(d, "devwatch.json")],
                                   capture_output=True, text=True).stdout)
    port = st[0].get("ports", {}).get("80")
    return p, int(port) if port else None, log.name


def down(p):
    p.terminate()
    p.wait()


def line_ms(log, after):
    out = []
    for l in open(log).read().splitlines()[after:]:
        m = re.search(r"synced .* · ([0-9]+) ms$", l)
        if m:
            out.append(int(m.group(1)))
    return out


def baseline(d, image):
    cid = subprocess.run(["docker", "run", "-d", "-P", "--label", "dev.devwatch.bench=" + NAME, image],
                         capture_output=True, text=True, check=True).stdout.strip()
    port = int(subprocess.run(["docker", "port", cid, "80"], capture_output=True, text=True)
               .stdout.splitlines()[0].rsplit(":", 1)[1])
    site = os.path.join(d, "site")
    sync = subprocess.Popen(["bash", "-c",
        'inotifywait -m -r -q -e close_write,moved_to --format "%w%f" . | '
        'while IFS= read -r f; do docker cp "$f" "$0:/www/${f#./}"; done', cid],
        cwd=site, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(1)  # inotifywait has no ready signal; let it set its watches
    while get(port) == b"":
        time.sleep(0.05)
    lat = measure(port, os.path.join(site, "index.html"), EDITS, "baseline")
    # Its own process group only (inotifywait with it): the machine is shared.
    os.killpg(sync.pid, signal.SIGTERM)
    sync.wait()
    subprocess.run(["docker", "rm", "-f", cid], stdout=subprocess.DEVNULL)
    return lat


def report(name, lat):
    print("%-10s p50 %7.1f ms   p95 %7.1f ms   p99 %7.1f ms   (%d edits)"
          % (name, pct(lat, 50), pct(lat, 95), pct(lat, 99), len(lat)), flush=True)


def make_bulk(tmp):
    """5,000 files of 1 KB to 100 KB, made once: both sides read the same
    folder, so neither pays for making or removing host files that the
    other does not (ext4's inode allocator remembers recent deletions,
    and that moves both sides' times; docs/BENCHMARKS.md)."""
    staged = os.path.join(tmp, "bulk")
    os.makedirs(staged)
    rnd = random.Random(1)
    total = 0
    for i in range(5000):
        n = rnd.randint(1024, 100 * 1024)
        total += n
        with open(os.path.join(staged, "f%04d.bin" % i), "wb") as f:
            f.write(rnd.randbytes(n))
    want = subprocess.run(["bash", "-c", "sha256sum f*.bin | sha256sum"], cwd=staged,
                          capture_output=True, text=True).stdout.split()[0]
    return staged, total, want


def by_hand(image, src):
    """The floor, in the same conditions: the same files piped as one tar
    through `docker exec -i ... tar -x` into a new container of the same
    image (no hashing, no change detection, no decision)."""
    cid = subprocess.run(["docker", "run", "-d", "--label", "dev.devwatch.bench=" + NAME, image],
                         capture_output=True, text=True, check=True).stdout.strip()
    t1 = time.perf_counter()
    subprocess.run("tar -C %s -cf - bulk | docker exec -i %s tar -x -f - -C /www" % (src, cid),
                   shell=True, check=True)
    t_hand = time.perf_counter() - t1
    subprocess.run(["docker", "rm", "-f", cid], stdout=subprocess.DEVNULL)
    return t_hand


def bulk_run(tmp, bulk, debian, hand_first):
    """One devwatch run and one by-hand run, in the order given: runs
    alternate, so each side follows the other's container removal as
    often."""
    staged, total, want = bulk
    d = debian_project(tmp) if debian else project(tmp, False)
    p, port, log = up(d)
    image = subprocess.run(["docker", "inspect", "-f", "{{.Config.Image}}", NAME + "-web-1"],
                           capture_output=True, text=True).stdout.strip()
    if hand_first:
        t_hand = by_hand(image, tmp)
    before = len(open(log).read().splitlines())
    # Moved in: one change of 5,000 files.
    bulk_dir = os.path.join(d, "site/bulk")
    t0 = time.perf_counter()
    os.rename(staged, bulk_dir)
    # Wait for devwatch to say the update is applied (the agent answered
    # for the whole write stream), reading only its log: polling with
    # `docker exec` would compete for the same two cores.
    while not line_ms(log, before):
        if p.poll() is not None or time.perf_counter() - t0 > 120:
            raise SystemExit("bulk not applied in 120 s:\n" + open(log).read())
        time.sleep(0.005)
    t_all = time.perf_counter()
    # Then check every file in the container, by content.
    got = subprocess.run(["docker", "exec", NAME + "-web-1", "sh", "-c",
                          "cd /www/bulk && ls | wc -l && sha256sum f*.bin | sha256sum"],
                         capture_output=True, text=True).stdout.split()
    if got[:2] != ["5000", want]:
        raise SystemExit("bulk: the container does not hold the 5,000 files: %r" % got)
    ms = line_ms(log, before)
    down(p)
    os.rename(bulk_dir, staged)
    if not hand_first:
        t_hand = by_hand(image, tmp)
    print("%-10s 5000 files, %.0f MB moved into the tree: applied %.2f s after the move"
          " (all 5,000 checked by content afterwards); devwatch, first event to applied: %s ms;"
          " by hand (tar | docker exec -i tar -x): %.2f s%s"
          % ("bulk-debian" if debian else "bulk", total / 1e6, t_all - t0, " + ".join(map(str, ms)) or "?",
             t_hand, " (by hand first)" if hand_first else ""), flush=True)
    shutil.rmtree(d)
    return t_all - t0, t_hand


def main():
    what = [a for a in sys.argv[3:] if a in ("latency", "scratch", "pairs", "interleaved", "runstep", "bulk",
                                               "bulk-debian")] \
        or ["latency", "scratch", "pairs", "interleaved", "runstep", "bulk", "bulk-debian"]
    tmp = tempfile.mkdtemp(prefix="dwbench-")
    print("machine: %d cores, kernel %s, docker %s" % (
        os.cpu_count(), os.uname().release,
        subprocess.run(["docker", "version", "-f", "{{.Server.Version}}"], capture_output=True, text=True).stdout.strip()))
    try:
        if "latency" in what:
            d = project(tmp, False)
            p, port, log = up(d)
            image = subprocess.run(["docker", "inspect", "-f", "{{.Config.Image}}", NAME + "-web-1"],
                                   capture_output=True, text=True).stdout.strip()
            lat = measure(port, os.path.join(d, "site/index.html"), EDITS, "devwatch")
            down(p)
            p, port, log = up(d, agent="sh")
            lat_sh = measure(port, os.path.join(d, "site/index.html"), EDITS, "shell agent")
            down(p)
            base = baseline(d, image)
            report("devwatch", lat)
            report("sh agent", lat_sh)
            report("baseline", base)
            print("ratio      baseline p50 / devwatch p50 = %.1fx" % (pct(base, 50) / pct(lat, 50)), flush=True)
            shutil.rmtree(d)
        if "scratch" in what:
            d = scratch_project(tmp)
            p, port, log = up(d, verbose=True)
            lat = measure(port, os.path.join(d, "site/index.html"), EDITS, "scratch agent")
            ms, copied = first_connect(log)
            down(p)
            p, port, log = up(d, agent="archive")
            lat_ar = measure(port, os.path.join(d, "site/index.html"), EDITS, "scratch archive")
            down(p)
            report("scratch", lat)
            report("archive", lat_ar)
            print("ratio      archive p50 / agent p50 = %.1fx" % (pct(lat_ar, 50) / pct(lat, 50)), flush=True)
            agent = os.path.join(os.path.dirname(os.path.abspath(DEVWATCH)), "devwatch-agent")
            print("agent      %s bytes; first connect (HEAD, %sexec, hello): %s ms" % (
                os.path.getsize(agent) if os.path.exists(agent) else "?",
                "PUT of the agent, " if copied else "", "%.1f" % ms if ms is not None else "?"), flush=True)
            shutil.rmtree(d)
        if "pairs" in what:
            d = project(tmp, False)
            got = {"agent": [], "sh": []}
            for i in range(PAIRS):
                for kind in ("agent", "sh"):
                    p, port, log = up(d, agent=None if kind == "agent" else "sh")
                    lat = measure(port, os.path.join(d, "site/index.html"), EDITS, kind)
                    down(p)
                    got[kind].append(pct(lat, 50))
                    print("pair %d     %-5s p50 %5.1f ms  p99 %5.1f ms" % (i + 1, kind, pct(lat, 50), pct(lat, 99)), flush=True)
            print("pairs      median of the p50s: agent %.1f ms, shell agent %.1f ms" % (
                statistics.median(got["agent"]), statistics.median(got["sh"])), flush=True)
            shutil.rmtree(d)
        if "interleaved" in what:
            runs = {}
            for kind in ("agent", "sh"):
                d = project(os.path.join(tmp, kind), False)
                cfg = os.path.join(d, "devwatch.json")
                text = open(cfg).read().replace('"name": "%s"' % NAME, '"name": "%s%s"' % (NAME, kind))
                open(cfg, "w").write(text)
                p, port, log = up(d, agent=None if kind == "agent" else "sh")
                runs[kind] = (p, port, d, [])
            for i in range(EDITS):
                for kind in ("agent", "sh") if i % 2 == 0 else ("sh", "agent"):
                    p, port, d, lat = runs[kind]
                    lat += measure(port, os.path.join(d, "site/index.html"), 1, kind)
            for kind, (p, port, d, lat) in runs.items():
                down(p)
                report("agent" if kind == "agent" else "sh agent", lat)
                shutil.rmtree(d)
            print("ratio      shell agent p50 / agent p50 = %.2fx" % (
                pct(runs["sh"][3], 50) / pct(runs["agent"][3], 50)), flush=True)
        if "runstep" in what:
            d = project(tmp, True)
            p, port, log = up(d)
            lat = measure(port, os.path.join(d, "site/index.html"), EDITS, "runstep")
            down(p)
            report("run step", lat)
            shutil.rmtree(d)
        bulk = make_bulk(tmp) if "bulk" in what or "bulk-debian" in what else None
        for kind in ("bulk", "bulk-debian"):
            if kind not in what:
                continue
            runs = [bulk_run(tmp, bulk, kind == "bulk-debian", i % 2 == 1) for i in range(BULK_RUNS)]
            mine = statistics.median(r[0] for r in runs)
            hand = statistics.median(r[1] for r in runs)
            print("%-10s median of %d: devwatch %.2f s, by hand %.2f s, devwatch / by hand = %.2fx" % (
                kind, len(runs), mine, hand, mine / hand), flush=True)
    finally:
        subprocess.run(["bash", "-c", "{ docker ps -aq --filter name=%s; docker ps -aq --filter label=dev.devwatch.bench=%s; } | xargs -r docker rm -f; "
                        "docker images --format '{{.Repository}}:{{.Tag}}' 'devwatch/%s*' | xargs -r docker rmi" % (NAME, NAME, NAME)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


main()
