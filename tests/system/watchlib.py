"""Drives `devwatch watch --json DIR` for the watcher's system tests.

A scenario runs an action on real files, then writes a sentinel file; every
change set up to the one that holds the sentinel is merged (as devwatch's own
change-set merge does) and compared with the exact expected set. This needs
no sleeps: the sentinel proves the watcher has settled past the action. An
action that must produce nothing is checked the same way: the merged result
must be the sentinel alone.
"""
import json
import os
import select
import subprocess
import sys
import time

DEVWATCH = os.environ["DEVWATCH"]


class Fail(Exception):
    pass


KINDS = ("added", "modified", "removed")


def merge(state, cs):
    """Fold a change set into state {path: kind} (added/modified/removed)."""
    for kind in KINDS:
        for p in cs[kind]:
            before = state.get(p)
            if before is None:
                state[p] = kind
            elif before == "added" and kind == "removed":
                del state[p]
            elif before == "added":
                state[p] = "added"
            elif before == "removed" and kind != "removed":
                state[p] = "modified"
            else:
                state[p] = kind
    return state


class Watch:
    def __init__(self, root, args=(), user=None, env=None):
        self.root = root
        self.n = 0
        cmd = [DEVWATCH, "watch", "--json", *args, root]
        if user is not None:
            cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups", *cmd]
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
        self.buf = b""
        self.err = b""
        self._wait_stderr(b"watching ", 60)

    def _wait_stderr(self, what, timeout):
        end = time.time() + timeout
        while what not in self.err:
            r, _, _ = select.select([self.p.stderr], [], [], max(0, end - time.time()))
            if not r:
                raise Fail("watcher did not print %r; stderr: %r" % (what, self.err))
            chunk = os.read(self.p.stderr.fileno(), 65536)
            if not chunk:
                raise Fail("watcher exited; stderr: %r" % self.err)
            self.err += chunk

    def stderr_has(self, what, timeout=10):
        self._wait_stderr(what.encode(), timeout)

    def next_set(self, timeout=30):
        end = time.time() + timeout
        while b"\n" not in self.buf:
            r, _, _ = select.select([self.p.stdout], [], [], max(0, end - time.time()))
            if not r:
                raise Fail("no change set within %ds" % timeout)
            chunk = os.read(self.p.stdout.fileno(), 1 << 20)
            if not chunk:
                raise Fail("watcher exited; stderr: %r" % self.err)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def sets_until_sentinel(self, timeout=60):
        """Write a sentinel, then remove it. Return the change sets up to
        the one that shows it written, and those up to the one that shows
        it removed, each without the sentinel: (before, after)."""
        self.n += 1
        name = ".sentinel-%d" % self.n
        path = os.path.join(self.root, name)
        with open(path, "w") as f:
            f.write(str(self.n))
        before = self._sets_until(name, timeout)
        os.unlink(path)
        return before, self._sets_until(name, timeout)

    def _sets_until(self, name, timeout):
        sets = []
        while True:
            cs = self.next_set(timeout)
            sets.append({k: [p for p in cs[k] if p != name] for k in KINDS})
            if any(name in cs[k] for k in KINDS):
                return sets

    def until_sentinel(self, timeout=60):
        """Write a sentinel; return the merged changes before it."""
        before, after = self.sets_until_sentinel(timeout)
        state, gone = {}, {}
        for cs in before:
            merge(state, cs)
        for cs in after:
            merge(gone, cs)
        for p, k in gone.items():
            merge(state, {"added": [], "modified": [], "removed": [], k: [p]})
        return state

    def expect(self, what, action, added=(), modified=(), removed=()):
        action()
        got = self.until_sentinel()
        want = {p: "added" for p in added}
        want.update({p: "modified" for p in modified})
        want.update({p: "removed" for p in removed})
        if got != want:
            extra = {p: k for p, k in got.items() if want.get(p) != k}
            missing = {p: k for p, k in want.items() if got.get(p) != k}
            raise Fail("%s: unexpected %r, missing %r" % (what, extra, missing))
        print("ok  %s" % what, flush=True)

    def nothing(self, what, action):
        self.expect(what, action)

    def close(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
        err = self.p.stderr.read()
        self.err += err or b""
        # -15: our SIGTERM before its handler ran; 0: a clean exit. Anything
        # else (a sanitizer's report, say) fails the test.
        if self.p.returncode not in (0, -15):
            raise Fail("devwatch watch exited %d: %r" % (self.p.returncode, self.err[-2000:]))
        return self.p.returncode


def sh(cmd, cwd):
    subprocess.run(["bash", "-c", cmd], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def write(path, data, mode="w"):
    with open(path, mode) as f:
        f.write(data)


def run(main):
    try:
        main()
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
    print("ok")
