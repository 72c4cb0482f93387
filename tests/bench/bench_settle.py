#!/usr/bin/env python3
"""What the settle window buys: how often one save comes out as more than
one change set, for each window.

A save that goes through temporary files or renames (a script's
`printf > tmp && mv tmp page.html`, a JetBrains IDE's safe write) touches
several paths in a few milliseconds. Settled together, it is one change of
page.html. Settled in pieces, the container briefly gets the temporary
file, or loses page.html, and the run steps those paths trigger run more
than once. For each window, `devwatch watch --json` sees N saves of each
pattern; a save counts as split when the change sets before its sentinel
are not exactly one set holding page.html alone. vim (one process, no
renames between its writes here) is the control. A file rewritten in place
settles after a third of the window (DESIGN.md, Watch): the last three
patterns measure what that costs.

Usage: bench_settle.py DEVWATCH [--saves N] [--windows 3,2,1]
"""
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "system"))


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


DEVWATCH = os.path.abspath(sys.argv[1])
SAVES = int(arg("--saves", "100"))
WINDOWS = [int(w) for w in arg("--windows", "3,2,1").split(",")]

PATTERNS = (
    ("tmp + mv, by a shell", "printf 'a%d\\n' > .page.tmp && mv .page.tmp page.html"),
    ("JetBrains safe write, by a shell",
     "printf 'jb%d\\n' > page.html___jb_tmp___ && mv page.html page.html___jb_old___ && "
     "mv page.html___jb_tmp___ page.html && rm page.html___jb_old___"),
    ("vim, default settings", "vim.tiny -N -u NONE -i NONE -es -c 'set swapfile' -c 'normal Go%d' -c wq page.html"),
    ("in place, by a shell", "printf 'p%d\\n' > page.html"),
    ("in place, then appended to", "printf 'q%d\\n' > page.html && printf 'more\\n' >> page.html"),
    ("in place, then chmod", "printf 'c%d\\n' > page.html && chmod 644 page.html"),
)


def saves_split(w, root, cmd):
    """How many of SAVES saves were not exactly one change set of page.html."""
    from watchlib import KINDS, sh
    split = 0
    for i in range(SAVES):
        sh(cmd.replace("%d", str(i)), root)
        before, _ = w.sets_until_sentinel()
        sets = [sorted(p for k in KINDS for p in cs[k]) for cs in before]
        if [s for s in sets if s] != [["page.html"]]:
            split += 1
    return split


def main():
    os.environ["DEVWATCH"] = DEVWATCH
    from watchlib import Watch
    tmp = tempfile.mkdtemp(prefix="dwsettle.")
    try:
        print("machine: %d cores, kernel %s, load %s" % (
            os.cpu_count(), os.uname().release, open("/proc/loadavg").read().split()[0]))
        for window in WINDOWS:
            root = os.path.join(tmp, "tree%d" % window)
            os.makedirs(root)
            with open(os.path.join(root, "page.html"), "w") as f:
                f.write("x\n")
            w = Watch(root, env={"DEVWATCH_SETTLE_MS": str(window)})
            try:
                for what, cmd in PATTERNS:
                    n = saves_split(w, root, cmd)
                    print("window %d ms  %-34s %3d of %d saves split (%.0f%%)"
                          % (window, what, n, SAVES, 100.0 * n / SAVES), flush=True)
            finally:
                w.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if not shutil.which("vim.tiny"):
        sys.exit("bench_settle: vim.tiny is missing (apt install vim-tiny)")
    main()
