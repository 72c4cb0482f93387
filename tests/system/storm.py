#!/usr/bin/env python3
"""A seeded random edit storm over a folder, for the storm system test.

    storm.py init SEED ROOT          the starting tree (what the image COPYs)
    storm.py run SEED ROOT [--ops N] N creates, modifies, deletes, renames
                                     (files and folders), chmods, symlinks
                                     and `rm -rf`s, paced in bursts so that
                                     live updates are in flight meanwhile

The same SEED gives the same operations on the same starting tree, so a
failure is reproduced by its seed (printed first).
"""
import argparse
import os
import random
import shutil
import stat
import sys
import time

NAMES = ["a", "b", "c", "d", "e", "f", "g", "h", "notes", "index", "main"]
EXTS = [".txt", ".html", ".c", ".json", ""]
DIRS = ["src", "lib", "docs", "deep", "x", "y", "tmp2", "assets"]


def content(rng):
    # Now and then a few MiB: that update is still in flight when the next
    # burst comes.
    n = rng.choice([0, 1, 10, 100, 1000, 5000, 70000, 70000, 3 << 20])
    return bytes(rng.getrandbits(8) for _ in range(min(n, 64))) * (n // 64 + 1)


def walk(root):
    files, dirs, links = [], [], []
    for d, dn, fn in os.walk(root):
        for n in dn:
            p = os.path.join(d, n)
            (links if os.path.islink(p) else dirs).append(p)
        for n in fn:
            p = os.path.join(d, n)
            (links if os.path.islink(p) else files).append(p)
    return files, dirs, links


def new_path(rng, root, dirs):
    parent = rng.choice([root] + dirs) if dirs else root
    return os.path.join(parent, rng.choice(NAMES) + rng.choice(EXTS))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def init(rng, root):
    os.makedirs(root, exist_ok=True)
    for _ in range(30):
        depth = rng.randint(1, 4)
        os.makedirs(os.path.join(root, *rng.sample(DIRS, depth)), exist_ok=True)
    _, dirs, _ = walk(root)
    for _ in range(800):
        p = new_path(rng, root, dirs)
        if not os.path.isdir(p):
            write(p, content(rng))
            os.chmod(p, rng.choice([0o644, 0o755, 0o600]))


class Tree:
    """The storm's view of ROOT, kept in step with each operation (walking
    the tree for every one would pace the storm by the walk)."""

    def __init__(self, root):
        self.root = root
        self.files, self.dirs, self.links = (set(x) for x in walk(root))

    def under(self, d):
        pre = d + os.sep
        return [p for s in (self.files, self.dirs, self.links) for p in s
                if p.startswith(pre)]

    def drop(self, p):
        for s in (self.files, self.dirs, self.links):
            s.discard(p)

    def moved(self, src, dst):
        for p in [src] + self.under(src):
            q = dst + p[len(src):]
            for s in (self.files, self.dirs, self.links):
                if p in s:
                    s.discard(p)
                    s.add(q)


def pick(rng, s):
    return rng.choice(sorted(s))


def one(rng, t, counts):
    root = t.root
    dirs = sorted(t.dirs)
    op = rng.choices(
        ["create", "modify", "delete", "rename", "chmod", "mkdir", "rmrf",
         "mvdir", "symlink", "chmoddir"],
        [24, 25, 10, 14, 8, 4, 1, 4, 2, 2])[0]
    if op in ("modify", "delete", "rename", "chmod") and not t.files:
        op = "create"
    if op in ("rmrf", "mvdir", "chmoddir") and not dirs:
        op = "mkdir"
    if op == "create":
        p = new_path(rng, root, dirs)
        if p in t.dirs or p in t.links:
            return
        write(p, content(rng))
        t.files.add(p)
    elif op == "modify":
        p = pick(rng, t.files)
        if rng.random() < 0.5:
            with open(p, "ab") as f:
                f.write(content(rng)[:100] + b"\n")
        else:
            # An editor's save: a temporary renamed over the file.
            tmp = p + ".swp~"
            write(tmp, content(rng))
            os.rename(tmp, p)
    elif op == "delete":
        p = pick(rng, t.files | t.links)
        os.unlink(p)
        t.drop(p)
    elif op == "rename":
        src = pick(rng, t.files)
        dst = new_path(rng, root, dirs)
        if dst in t.dirs or dst == src:
            return
        os.rename(src, dst)
        t.drop(src)
        t.drop(dst)
        t.files.add(dst)
    elif op == "chmod":
        os.chmod(pick(rng, t.files), rng.choice([0o644, 0o755, 0o600, 0o640, 0o700]))
    elif op == "mkdir":
        p = os.path.join(rng.choice([root] + dirs), rng.choice(DIRS))
        if p in t.files or p in t.dirs or p in t.links:
            return
        os.mkdir(p)
        t.dirs.add(p)
    elif op == "rmrf":
        # Mostly a deep folder: the tree keeps enough to rename and delete.
        d = rng.choice(dirs)
        if d.count(os.sep) - root.count(os.sep) < 2 and rng.random() < 0.8:
            return
        gone = [d] + t.under(d)
        shutil.rmtree(d)
        for p in gone:
            t.drop(p)
    elif op == "mvdir":
        src = rng.choice(dirs)
        dst = os.path.join(rng.choice([root] + dirs), rng.choice(DIRS))
        if (dst in t.files or dst in t.dirs or dst in t.links or
                (dst + os.sep).startswith(src + os.sep)):
            return
        os.rename(src, dst)
        t.moved(src, dst)
    elif op == "symlink":
        p = new_path(rng, root, dirs)
        if p in t.files or p in t.dirs or p in t.links:
            return
        os.symlink(rng.choice(NAMES) + ".txt", p)
        t.links.add(p)
    elif op == "chmoddir":
        os.chmod(rng.choice(dirs), rng.choice([0o755, 0o750, 0o700]))
    counts[op] = counts.get(op, 0) + 1


def run(rng, root, ops):
    t = Tree(root)
    counts = {}
    done = 0
    while done < ops:
        # A burst of 20-200 operations, then a pause of 0-80 ms: the next
        # burst lands while the previous one is being applied.
        burst = rng.randint(20, 200)
        for _ in range(min(burst, ops - done)):
            one(rng, t, counts)
            done += 1
            if rng.random() < 0.05:
                time.sleep(rng.random() * 0.003)
        time.sleep(rng.random() * 0.08)
    if (t.files, t.dirs, t.links) != tuple(set(x) for x in walk(root)):
        raise SystemExit("storm: test bug: its view of %s went out of step" % root)
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["init", "run"])
    ap.add_argument("seed", type=int)
    ap.add_argument("root")
    ap.add_argument("--ops", type=int, default=3000)
    a = ap.parse_args()
    print("storm: %s seed %d" % (a.what, a.seed), flush=True)
    rng = random.Random(a.seed)
    if a.what == "init":
        init(rng, a.root)
        return
    t = time.monotonic()
    counts = run(random.Random(a.seed * 7919 + 1), a.root, a.ops)
    files, dirs, links = walk(a.root)
    print("storm: seed %d: %d operations in %.1f s (%s); now %d files, %d folders, %d links"
          % (a.seed, a.ops, time.monotonic() - t,
             ", ".join("%s %d" % kv for kv in sorted(counts.items())),
             len(files), len(dirs), len(links)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
