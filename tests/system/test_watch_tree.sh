#!/usr/bin/env bash
# Tree changes: nested new folders with files (made before their watch could
# exist), a deleted tree, moves in, out and within, awkward names, chmod +x,
# symlinks (reported as links, never followed), a git checkout of hundreds
# of files, a file that vanishes right after its event, ignore rules, and an
# unreadable file that is reported without stopping the watcher, and a
# folder whose own events settle after a file in it.
. "$(dirname "$0")/lib.sh"
dw_init wtree
exec python3 - "$T" <<'PY'
import os, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["DEVWATCH_SRC"], "tests/system"))
from watchlib import Fail, Watch, sh, write, run

base = sys.argv[1]
root = os.path.join(base, "tree")
os.makedirs(root)
outside = os.path.join(base, "outside")
os.makedirs(os.path.join(outside, "pkg"))
write(os.path.join(outside, "pkg", "m.txt"), "m\n")
write(os.path.join(root, "keep.txt"), "k\n")

def apply(model, cs):
    """What a sync makes of a change set: a written path brings its folders,
    a removed one takes what is under it."""
    for p in cs["removed"]:
        p = p.rstrip("/")
        model.difference_update({q for q in model if q == p or q.startswith(p + "/")})
    for p in cs["added"] + cs["modified"]:
        parts = p.rstrip("/").split("/")
        model.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))


def on_disk(root):
    out = set()
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


def folder_settles_last(root):
    """A file can settle before its folder: a folder moved in, a file in it
    rewritten, then the folder chmod'ed (its own event, later). The folder
    must come with the file, or a sync makes it in the container as the
    file's parent and nothing removes it there after an rm -rf."""
    os.makedirs(os.path.join(root, "b"))
    write(os.path.join(root, "b", "x"), "x\n")
    model = on_disk(root)
    w = Watch(root, env={"DEVWATCH_SETTLE_MS": "400", "DEVWATCH_SETTLE_CAP_MS": "5000"})
    sh("mv b assets", root)
    # The gaps order the events' times: they are what is tested.
    time.sleep(0.2)
    write(os.path.join(root, "assets", "x"), "rewritten\n")
    time.sleep(0.1)
    os.chmod(os.path.join(root, "assets"), 0o750)
    while "assets/x" not in model:
        apply(model, w.next_set())
    sh("rm -rf assets", root)
    before, after = w.sets_until_sentinel()
    for cs in before + after:
        apply(model, cs)
    model = {p for p in model if not p.startswith(".sentinel")}
    if model != on_disk(root):
        raise Fail("a folder settled after its file: synced %r, on disk %r" % (sorted(model), sorted(on_disk(root))))
    print("ok  a folder that settles after its file", flush=True)
    w.close()


def main():
    w = Watch(root)
    w.expect("nested new folders", lambda: sh("mkdir -p a/b/c && echo x > a/b/c/f && echo y > a/top", root),
             added=["a/", "a/b/", "a/b/c/", "a/b/c/f", "a/top"])
    w.expect("move within the tree", lambda: sh("mv a moved", root),
             added=["moved/", "moved/b/", "moved/b/c/", "moved/b/c/f", "moved/top"],
             removed=["a/", "a/b/", "a/b/c/", "a/b/c/f", "a/top"])
    w.expect("edit under a moved folder", lambda: sh("echo z > moved/b/c/f", root), modified=["moved/b/c/f"])
    w.expect("delete a tree", lambda: sh("rm -rf moved", root),
             removed=["moved/", "moved/b/", "moved/b/c/", "moved/b/c/f", "moved/top"])
    w.expect("move into the tree", lambda: sh("mv %s/pkg pkg" % outside, root), added=["pkg/", "pkg/m.txt"])
    w.expect("move out of the tree", lambda: sh("mv pkg %s/pkg" % outside, root), removed=["pkg/", "pkg/m.txt"])
    w.nothing("edit in a folder moved out", lambda: write(os.path.join(outside, "pkg", "m.txt"), "changed\n"))
    names = ["with space.txt", "it's \"quoted\".txt", "new\nline.txt", "ünïcødé ✓.txt", "$(x).txt", "-dash"]
    def make():
        for n in names:
            write(os.path.join(root, n), n)
    w.expect("awkward names", make, added=names)
    w.expect("chmod +x", lambda: sh("chmod +x keep.txt", root), modified=["keep.txt"])
    w.expect("symlink", lambda: sh("ln -s keep.txt link && ln -s /etc dirlink", root), added=["link", "dirlink"])
    w.expect("symlink retargeted", lambda: sh("ln -sfn with\\ space.txt link", root), modified=["link"])
    w.expect("symlink removed", lambda: sh("rm link dirlink", root), removed=["link", "dirlink"])
    w.nothing("a file that vanishes right after its event",
              lambda: sh("for i in $(seq 50); do echo $i > gone$i; rm gone$i; done", root))
    w.nothing("ignored: .git, editor temporaries, .devwatch",
              lambda: sh("mkdir -p .git .devwatch && echo x > .git/x && echo y > .devwatch/y && echo s > .x.swp && echo t > x~ && echo u > 4913 && echo v > .DS_Store", root))
    w.close()

    folder_settles_last(os.path.join(base, "order"))

    # git: .gitignore applies inside a repository only; a checkout is exact.
    repo = os.path.join(base, "repo")
    os.makedirs(repo)
    sh("git init -q . && git config user.email t@t && git config user.name t && printf 'node_modules/\\n*.log\\n' > .gitignore && mkdir -p src node_modules/dep && echo 1 > node_modules/dep/i.js && for i in $(seq 300); do echo one $i > src/f$i.txt; done && git add -A && git commit -qm one && git checkout -q -b two && for i in $(seq 1 100); do echo two $i > src/f$i.txt; done && git rm -q src/f2[0-9][0-9].txt && for i in $(seq 301 400); do echo new $i > src/f$i.txt; done && git add -A && git commit -qm two && git checkout -q -", repo)
    w = Watch(repo)
    w.nothing("gitignored paths", lambda: sh("echo 2 > node_modules/dep/i.js && echo l > debug.log", repo))
    changed = ["src/f%d.txt" % i for i in range(1, 101)]
    removed = ["src/f%d.txt" % i for i in range(301, 401)]
    restored = ["src/f%d.txt" % i for i in range(200, 300)]
    w.expect("git checkout of 300 files", lambda: sh("git checkout -q two", repo),
             modified=changed, removed=restored, added=removed)
    w.expect("git checkout back", lambda: sh("git checkout -q -", repo),
             modified=changed, added=restored, removed=removed)
    w.close()
    # Outside a repository a .gitignore means nothing, as in git.
    plain = os.path.join(base, "plain")
    os.makedirs(plain)
    write(os.path.join(plain, ".gitignore"), "*.log\n")
    w = Watch(plain)
    w.expect(".gitignore outside a repository", lambda: write(os.path.join(plain, "x.log"), "x"), added=["x.log"])
    w.close()

    # An unreadable file is reported, and the watcher goes on.
    os.chmod(base, 0o755)
    mine = os.path.join(base, "mine")
    os.makedirs(mine)
    os.chown(mine, 65534, 65534)
    w = Watch(mine, user=65534)
    def unreadable():
        write(os.path.join(mine, "secret"), "s")
        os.chmod(os.path.join(mine, "secret"), 0)
        write(os.path.join(mine, "fine"), "f")
        os.chown(os.path.join(mine, "fine"), 65534, 65534)
    w.expect("unreadable file skipped, the rest applied", unreadable, added=["fine"])
    w.stderr_has("cannot read %s/secret" % mine)
    w.close()

run(main)
PY
