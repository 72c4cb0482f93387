#!/usr/bin/env python3
"""Compare a container's synced folder with the local tree, file by file and
mode by mode (DESIGN.md section 14). The container side is read through the
engine's archive API (`docker cp CONTAINER:PATH -`), so it needs nothing from
the image: no shell, no find, no tar.

    treecmp.py CONTAINER CONTAINER_DIR LOCAL_DIR [--ignore GLOB]... [--extra GLOB]...

--ignore GLOB   a local path (relative to LOCAL_DIR) that is not synced
                (devwatch's own ignores: editor temporaries, say)
--extra GLOB    a container path (relative to CONTAINER_DIR) that may exist
                there without a local counterpart (what a run step makes)

Compared: the set of paths, each one's type, permission bits (files,
symlinks and folders), file contents (SHA-256) and symlink targets. Every
difference is printed, one per line; the exit code is 0 when there is none,
1 otherwise, 2 when the container could not be read.
"""
import argparse
import fnmatch
import hashlib
import io
import os
import stat
import subprocess
import sys
import tarfile


def matches(rel, globs):
    return any(fnmatch.fnmatchcase(rel, g) or
               fnmatch.fnmatchcase(os.path.basename(rel), g) for g in globs)


def local_tree(root, ignore):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if matches(rel, ignore):
                if name in dirnames:
                    dirnames.remove(name)
                continue
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", stat.S_IMODE(st.st_mode), os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), None)
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                out[rel] = ("file", stat.S_IMODE(st.st_mode), digest)
    return out


def container_tree(container, path):
    proc = subprocess.run(["docker", "cp", "%s:%s" % (container, path), "-"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        sys.stderr.write("treecmp: cannot read %s:%s: %s" %
                         (container, path, proc.stderr.decode(errors="replace")))
        sys.exit(2)
    out = {}
    with tarfile.open(fileobj=io.BytesIO(proc.stdout), mode="r:") as tar:
        for m in tar:
            # Members are "BASENAME/rel..." for a folder.
            parts = m.name.split("/", 1)
            if len(parts) == 1:
                continue  # the folder itself
            rel = parts[1].rstrip("/")
            if m.issym():
                out[rel] = ("link", m.mode & 0o7777, m.linkname)
            elif m.isdir():
                out[rel] = ("dir", m.mode & 0o7777, None)
            elif m.isreg():
                digest = hashlib.sha256(tar.extractfile(m).read()).hexdigest()
                out[rel] = ("file", m.mode & 0o7777, digest)
            else:
                out[rel] = ("other", m.mode & 0o7777, None)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("container")
    ap.add_argument("container_dir")
    ap.add_argument("local_dir")
    ap.add_argument("--ignore", action="append", default=[])
    ap.add_argument("--extra", action="append", default=[])
    a = ap.parse_args()

    local = local_tree(a.local_dir, a.ignore)
    remote = container_tree(a.container, a.container_dir.rstrip("/") or "/")
    diffs = []
    for rel in sorted(set(local) | set(remote)):
        l, r = local.get(rel), remote.get(rel)
        if l is None:
            if not matches(rel, a.extra):
                diffs.append("only in the container: %s (%s)" % (rel, r[0]))
            continue
        if r is None:
            diffs.append("missing in the container: %s (%s)" % (rel, l[0]))
            continue
        if l[0] != r[0]:
            diffs.append("type differs: %s: local %s, container %s" % (rel, l[0], r[0]))
        elif l[1] != r[1] and l[0] != "link":
            diffs.append("mode differs: %s: local %o, container %o" % (rel, l[1], r[1]))
        elif l[2] != r[2]:
            what = "target" if l[0] == "link" else "content"
            diffs.append("%s differs: %s" % (what, rel))
    for d in diffs[:50]:
        print("treecmp: " + d)
    if len(diffs) > 50:
        print("treecmp: ... and %d more differences" % (len(diffs) - 50))
    if diffs:
        sys.exit(1)
    print("treecmp: %d paths equal" % len(local))


if __name__ == "__main__":
    main()
