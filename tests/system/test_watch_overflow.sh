#!/usr/bin/env bash
# Loss: an inotify queue overflow (forced by lowering max_queued_events)
# ends in a rescan whose change set is exact; running out of watches gets
# the sysctl to raise and the unwatched folders are still caught; the hash
# cache makes a restart report exactly what changed while stopped.
. "$(dirname "$0")/lib.sh"
dw_init woverflow
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root to lower inotify limits"; exit 0; }
q=$(cat /proc/sys/fs/inotify/max_queued_events)
wmax=$(cat /proc/sys/fs/inotify/max_user_watches)
restore() {
	echo "$q" >/proc/sys/fs/inotify/max_queued_events
	echo "$wmax" >/proc/sys/fs/inotify/max_user_watches
}
trap 'restore; dw_cleanup' EXIT
python3 - "$T" <<'PY'
import os, signal, sys
sys.path.insert(0, os.path.join(os.environ["DEVWATCH_SRC"], "tests/system"))
from watchlib import Watch, sh, write, run

base = sys.argv[1]
root = os.path.join(base, "tree")
os.makedirs(root)
for i in range(20):
    write(os.path.join(root, "old%d" % i), "old %d\n" % i)

def limit(name, value):
    with open("/proc/sys/fs/inotify/" + name, "w") as f:
        f.write(str(value))

def main():
    limit("max_queued_events", 16)
    # A watcher's queue size is fixed when it starts.
    w = Watch(root, args=["-v"], env={"DEVWATCH_SETTLE_MS": "200"})
    def burst():
        # Stopped, the watcher cannot drain its queue: it must overflow.
        w.p.send_signal(signal.SIGSTOP)
        for i in range(300):
            write(os.path.join(root, "new%d" % i), "new %d\n" % i)
        for i in range(10):
            os.unlink(os.path.join(root, "old%d" % i))
        write(os.path.join(root, "old10"), "changed\n")
        w.p.send_signal(signal.SIGCONT)
    w.expect("overflow rescans to the exact change",
             burst, added=["new%d" % i for i in range(300)],
             removed=["old%d" % i for i in range(10)], modified=["old10"])
    w.close()
    if b"overflow" not in w.err:
        raise SystemExit("FAIL: no overflow happened; the test proves nothing: %r" % w.err)
    limit("max_queued_events", 16384)

    # Out of watches: a clear message, and unwatched folders still caught.
    deep = os.path.join(base, "deep")
    for i in range(8):
        os.makedirs(os.path.join(deep, "d%d" % i))
    used = int(open("/proc/sys/fs/inotify/max_user_watches").read())
    sh("cat /proc/*/fdinfo/* 2>/dev/null | grep -c '^inotify' > %s/count || true" % base, base)
    in_use = int(open(os.path.join(base, "count")).read().strip() or 0)
    limit("max_user_watches", in_use + 4)
    w = Watch(deep)
    w.stderr_has("sysctl fs.inotify.max_user_watches=")
    w.expect("a file in an unwatched folder is caught",
             lambda: write(os.path.join(deep, "d7", "f"), "x"), added=["d7/f"])
    w.close()
    limit("max_user_watches", used)

    # The hash cache: changes made while stopped come out as one change set.
    w = Watch(root, args=["--cache"])
    w.close()
    write(os.path.join(root, "new1"), "edited while stopped\n")
    os.unlink(os.path.join(root, "new2"))
    write(os.path.join(root, "born"), "b\n")
    w = Watch(root, args=["--cache"])
    got = w.next_set()
    want = {"added": ["born"], "modified": ["new1"], "removed": ["new2"]}
    if got != want:
        raise SystemExit("FAIL: restart with cache: %r, want %r" % (got, want))
    print("ok  restart with the hash cache")
    w.nothing("restart reported nothing else", lambda: None)
    w.close()

run(main)
PY
