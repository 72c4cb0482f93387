#!/usr/bin/env python3
"""Watcher benchmarks (issue 3), each side by side with its baseline in one run.

  scan     `devwatch hash` vs `find -type f -print0 | xargs -0 -P2 xxh128sum`,
           page cache warm; ratio < 1 means devwatch is faster.
  restart  `devwatch hash --cache` with a fresh cache vs a full scan.
  restart-cold  the same with the page cache dropped before every run
           (root only): what a restart after a reboot or a long pause sees.
  memory   peak RSS per watched file of `devwatch watch` on the tree, above
           its RSS on an empty tree.
  latency  single-file write to its change-set line, 500 edits, p50/p99;
           the same edits seen by `inotifywait -m` as the floor.
  idle     CPU time and context switches of an idle `devwatch watch` over
           10 s, next to an idle `inotifywait -m -r`.

Usage: bench_watch.py DEVWATCH [TREE] [--runs N]
"""
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

DEVWATCH = sys.argv[1]
TREE = sys.argv[2] if len(sys.argv) > 2 and os.path.isdir(sys.argv[2]) else None
RUNS = 3
if "--runs" in sys.argv:
    RUNS = int(sys.argv[sys.argv.index("--runs") + 1])


def timed(cmd, **kw):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


def med(xs):
    return statistics.median(xs)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def bench_scan(tree):
    base = ["bash", "-c", "find . -type f -print0 | xargs -0 -P2 xxh128sum >/dev/null"]
    # warm the page cache with both
    timed(base, cwd=tree)
    timed([DEVWATCH, "hash", tree])
    dw, bl = [], []
    for _ in range(RUNS):
        dw.append(timed([DEVWATCH, "hash", tree]))
        bl.append(timed(base, cwd=tree))
    print("scan+hash   devwatch %.2f s   baseline %.2f s   ratio %.2f (median of %d)"
          % (med(dw), med(bl), med(dw) / med(bl), RUNS), flush=True)


def bench_restart(tree):
    full, cached = [], []
    subprocess.run(["rm", "-rf", os.path.join(tree, ".devwatch")])
    timed([DEVWATCH, "hash", "--cache", tree])  # writes the cache
    for _ in range(RUNS):
        cached.append(timed([DEVWATCH, "hash", "--cache", tree]))
        full.append(timed([DEVWATCH, "hash", tree]))
    subprocess.run(["rm", "-rf", os.path.join(tree, ".devwatch")])
    print("restart     cached %.2f s   full %.2f s   speedup %.1fx (median of %d)"
          % (med(cached), med(full), med(full) / med(cached), RUNS), flush=True)


def drop_caches():
    subprocess.run(["sync"])
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")


def bench_restart_cold(tree):
    full, cached = [], []
    subprocess.run(["rm", "-rf", os.path.join(tree, ".devwatch")])
    timed([DEVWATCH, "hash", "--cache", tree])
    for _ in range(RUNS):
        drop_caches()
        cached.append(timed([DEVWATCH, "hash", "--cache", tree]))
        drop_caches()
        full.append(timed([DEVWATCH, "hash", tree]))
    subprocess.run(["rm", "-rf", os.path.join(tree, ".devwatch")])
    print("restart-cold cached %.2f s   full %.2f s   speedup %.1fx (page cache dropped, median of %d)"
          % (med(cached), med(full), med(full) / med(cached), RUNS), flush=True)


def start_watch(root, args=()):
    p = subprocess.Popen([DEVWATCH, "watch", "--json", *args, root],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = b""
    while b"watching" not in err:
        chunk = os.read(p.stderr.fileno(), 4096)
        if not chunk:
            raise SystemExit("watch exited: %r" % err)
        err += chunk
    return p


def hwm_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def bench_memory(tree):
    empty = tempfile.mkdtemp()
    p = start_watch(empty)
    base = hwm_kb(p.pid)
    p.terminate()
    p.wait()
    p = start_watch(tree)
    peak = hwm_kb(p.pid)
    p.terminate()
    p.wait()
    files = int(subprocess.run(["bash", "-c", "find . -type f | wc -l"], cwd=tree,
                               capture_output=True, text=True).stdout)
    print("memory      peak %d KiB, empty %d KiB, %d files: %.0f bytes per file"
          % (peak, base, files, (peak - base) * 1024.0 / files), flush=True)


def bench_latency(root, n=500):
    target = os.path.join(root, "bench-edit.txt")
    with open(target, "w") as f:
        f.write("0")
    p = start_watch(root)
    iw = subprocess.Popen(["inotifywait", "-m", "-q", "-e", "close_write", "--format", "%f", root],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)  # inotifywait prints nothing when ready: give it its watch
    dw, base = [], []
    buf_dw, buf_iw = b"", b""
    for i in range(n):
        with open(target, "w") as f:
            f.write("edit %d\n" % i)
        t0 = time.perf_counter()
        got_dw = got_iw = None
        while got_dw is None or got_iw is None:
            r, _, _ = select.select([p.stdout, iw.stdout], [], [], 5)
            if not r:
                raise SystemExit("no event for edit %d" % i)
            now = time.perf_counter()
            if p.stdout in r:
                buf_dw += os.read(p.stdout.fileno(), 65536)
                if b"\n" in buf_dw and got_dw is None:
                    got_dw = now
                    buf_dw = buf_dw.split(b"\n", 1)[1]
            if iw.stdout in r:
                buf_iw += os.read(iw.stdout.fileno(), 65536)
                if b"\n" in buf_iw and got_iw is None:
                    got_iw = now
                    buf_iw = buf_iw.split(b"\n", 1)[1]
        dw.append((got_dw - t0) * 1000)
        base.append((got_iw - t0) * 1000)
    p.terminate()
    iw.terminate()
    print("latency     devwatch p50 %.2f ms p99 %.2f ms   inotifywait p50 %.2f ms p99 %.2f ms (%d edits)"
          % (pct(dw, 50), pct(dw, 99), pct(base, 50), pct(base, 99), n), flush=True)


def cpu_and_switches(pid):
    st = open("/proc/%d/stat" % pid).read().split(")")[1].split()
    ticks = int(st[11]) + int(st[12])
    sw = 0
    for line in open("/proc/%d/status" % pid):
        if "ctxt_switches" in line:
            sw += int(line.split()[1])
    return ticks, sw


def bench_idle(root, secs=10):
    p = start_watch(root)
    iw = subprocess.Popen(["inotifywait", "-m", "-r", "-q", root],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    a, b = cpu_and_switches(p.pid), cpu_and_switches(iw.pid)
    time.sleep(secs)
    a2, b2 = cpu_and_switches(p.pid), cpu_and_switches(iw.pid)
    hz = os.sysconf("SC_CLK_TCK")
    print("idle        devwatch %.2f%% CPU, %d wakeups in %ds   inotifywait %.2f%% CPU, %d wakeups"
          % (100.0 * (a2[0] - a[0]) / hz / secs, a2[1] - a[1], secs,
             100.0 * (b2[0] - b[0]) / hz / secs, b2[1] - b[1]), flush=True)
    p.terminate()
    iw.terminate()


def main():
    small = tempfile.mkdtemp(prefix="dwbench-")
    for i in range(100):
        with open(os.path.join(small, "f%d" % i), "w") as f:
            f.write("x" * i)
    what = [a for a in sys.argv[2:] if a in ("scan", "restart", "restart-cold", "memory", "latency", "idle")]
    what = what or ["scan", "restart", "memory", "latency", "idle"]
    print("machine: %d cores, %s, kernel %s" % (os.cpu_count(), open("/proc/meminfo").readline().split(":")[1].strip(), os.uname().release))
    if TREE:
        files = subprocess.run(["bash", "-c", "find . -type f | wc -l; du -sh . | cut -f1"], cwd=TREE,
                               capture_output=True, text=True).stdout.split()
        print("tree: %s (%s files, %s)" % (TREE, files[0], files[1]))
    for w in what:
        if w in ("scan", "restart", "restart-cold", "memory") and not TREE:
            print("%s: skipped (no tree given)" % w)
            continue
        {"scan": lambda: bench_scan(TREE), "restart": lambda: bench_restart(TREE),
         "restart-cold": lambda: bench_restart_cold(TREE),
         "memory": lambda: bench_memory(TREE), "latency": lambda: bench_latency(small),
         "idle": lambda: bench_idle(TREE or small)}[w]()
    subprocess.run(["rm", "-rf", small])


main()
