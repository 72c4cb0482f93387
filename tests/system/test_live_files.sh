#!/usr/bin/env bash
# What lands in the container, checked by content hash: deletions, new
# nested folders, chmod +x, symlinks, hostile names (quotes, newlines,
# $(...), backticks, leading dashes) that must arrive intact and run
# nothing, a 2,000-file git checkout applied in full, 20 MB and 48 MB
# changes streamed in pieces (the second through a tar exec of its own),
# and tar failures mid-change that keep the session in step and are
# retried (with DEVWATCH_AGENT=archive, a file that the archive API
# replaces with the tree's folder). Replicas all get every change.
. "$(dirname "$0")/lib.sh"
dw_init files
mkdir -p "$T/p/src"
cd "$T/p"
printf 'FROM busybox:1.36\nCOPY src /data\nCMD ["sleep", "86400"]\n' >Dockerfile
echo base >src/base.txt
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "box": {
  "build": { "context": "." },
  "replicas": 2,
  "live_update": [ { "sync": { "from": "src", "to": "/data" } } ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"

# The tree under src/ and under /data in replica R, as "type mode hash path"
# lines (sorted; names hex-encoded so newlines survive).
host_tree() {
	python3 - "$T/p/src" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
out = []
for d, dirs, files in os.walk(root):
    dirs[:] = [x for x in dirs if x != ".git"]  # never synced
    for n in dirs + files:
        p = os.path.join(d, n); r = os.path.relpath(p, root).encode().hex()
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            out.append("l %s %s" % (os.readlink(p), r))
        elif stat.S_ISDIR(st.st_mode):
            out.append("d %o %s" % (st.st_mode & 0o777, r))
        else:
            out.append("f %o %s %s" % (st.st_mode & 0o777, hashlib.sha256(open(p, "rb").read()).hexdigest(), r))
print("\n".join(sorted(out)))
PY
}
box_tree() {
	# Runs the same walk inside the container: tar it out and read it here.
	docker exec "$P-box-$1" tar -C /data -cf - . | python3 -c '
import hashlib, sys, tarfile
t = tarfile.open(fileobj=sys.stdin.buffer, mode="r|")
out = []
for m in t:
    r = m.name[2:] if m.name.startswith("./") else m.name
    if r in ("", "."):
        continue
    r = r.rstrip("/").encode().hex()
    if m.issym():
        out.append("l %s %s" % (m.linkname, r))
    elif m.isdir():
        out.append("d %o %s" % (m.mode & 0o777, r))
    else:
        out.append("f %o %s %s" % (m.mode & 0o777, hashlib.sha256(t.extractfile(m).read()).hexdigest(), r))
print("\n".join(sorted(out)))
'
}
same_tree() {
	local want
	want=$(host_tree)
	for r in 1 2; do
		[ "$(box_tree $r)" = "$want" ] || return 1
	done
}
expect_same() {
	wait_for "${2:-30}" same_tree || {
		diff <(host_tree) <(box_tree 1) | head -20 >&2
		fail "$1"
	}
}

expect_same "initial state differs"
mkdir -p src/a/b/c && echo deep >src/a/b/c/f.txt && echo top >src/a/t.txt
expect_same "new nested folders"
printf '#!/bin/sh\necho hi\n' >src/run.sh && chmod +x src/run.sh
expect_same "new executable"
chmod -x src/run.sh
expect_same "chmod -x"
chmod +x src/run.sh
expect_same "chmod +x"
ln -s base.txt src/link && ln -s /etc/passwd src/abs-link && ln -s a/b src/dirlink
expect_same "symlinks"
[ "$(docker exec "$P-box-1" readlink /data/link)" = "base.txt" ] || fail "symlink not a link"
rm -rf src/a
expect_same "deleted folder tree"
rm src/link
expect_same "deleted symlink"

# Hostile names: data only, never shell text.
names=('it'"'"'s "quoted".txt' $'new\nline.txt' '$(touch pwned).txt'
       '`touch pwned2`.txt' '-rf' '--help' 'semi;colon&amp.txt' 'ünïcødé ✓.txt'
       'back\slash.txt' ' leading space.txt')
for n in "${names[@]}"; do
	printf 'content of %s\n' "$n" >"src/$n"
done
expect_same "hostile names"
for n in "${names[@]}"; do
	[ "$(docker exec "$P-box-2" cat -- "/data/$n")" = "content of $n" ] || fail "name mangled: $n"
done
for f in /pwned /pwned2 /data/pwned /data/pwned2; do
	docker exec "$P-box-1" test ! -e "$f" || fail "a file name ran a command ($f exists)"
done
rm -f -- "src/-rf" "src/\$(touch pwned).txt"
expect_same "hostile deletions"

# A folder that is a symlink in the container (to /etc) must not let a
# write or a deletion land outside /data: it becomes a real folder, as on
# the host.
for r in 1 2; do
	docker exec "$P-box-$r" sh -c 'mkdir -p /outside && echo keep > /outside/victim && ln -s /outside /data/trap'
done
mkdir -p src/trap && echo inside >src/trap/planted
expect_same "write under a folder that is a symlink in the container"
for r in 1 2; do
	docker exec "$P-box-$r" test ! -e /outside/planted || fail "a write landed outside /data through a container symlink"
	[ "$(docker exec "$P-box-$r" cat /outside/victim)" = keep ] || fail "outside file damaged"
done
for r in 1 2; do
	docker exec "$P-box-$r" sh -c 'rm -rf /data/trap2; ln -s /outside /data/trap2'
done
mkdir -p src/trap2 && echo x >src/trap2/victim && expect_same "second trap synced"
for r in 1 2; do
	docker exec "$P-box-$r" sh -c 'rm -rf /data/trap2 && ln -s /outside /data/trap2'
done
rm -rf src/trap2
expect_same "deletion under a folder that is a symlink in the container"
for r in 1 2; do
	[ "$(docker exec "$P-box-$r" cat /outside/victim)" = keep ] || fail "a deletion reached outside /data through a container symlink"
done
# The same for a folder synced before, which the container then turns
# into a symlink: only a file in it is written, or deleted, and the
# folder itself is in no change.
mkdir -p src/trap3 src/trap4 && echo one >src/trap3/only && echo v >src/trap4/victim && echo s >src/trap4/stays
expect_same "folders to trap synced"
for r in 1 2; do
	docker exec "$P-box-$r" sh -c 'rm -rf /data/trap3 /data/trap4 && ln -s /outside /data/trap3 && ln -s /outside /data/trap4'
done
echo two >src/trap3/only
rm src/trap4/victim
echo again >src/trap4/stays
expect_same "a write and a deletion in synced folders the container made symlinks"
for r in 1 2; do
	docker exec "$P-box-$r" test ! -e /outside/only || fail "a write landed outside /data through a symlink made after the sync"
	[ "$(docker exec "$P-box-$r" cat /outside/victim)" = keep ] || fail "a deletion reached outside /data through a symlink made after the sync"
done

# A git checkout that changes, adds and removes 2,000 files.
(
	cd src
	git init -q . && git config user.email t@t && git config user.name t
	mkdir -p gen
	for i in $(seq 1 1500); do echo "one $i" >"gen/f$i.txt"; done
	git add -A && git commit -qm one
	git checkout -q -b two
	for i in $(seq 1 1000); do echo "two $i" >"gen/f$i.txt"; done
	for i in $(seq 1001 1500); do rm "gen/f$i.txt"; done
	for i in $(seq 1501 2000); do echo "new $i" >"gen/f$i.txt"; done
	git add -A && git commit -qm two
	git checkout -q master 2>/dev/null || git checkout -q main
)
expect_same "first branch" 120
(cd src && git checkout -q two)
expect_same "git checkout not applied in full" 120

# Large changes, each made outside the tree and moved in, so that it is
# one change. 20 MB goes through the agent in 4 MiB pieces, more than may
# wait in the socket, with back-pressure; 48 MB goes to a tar exec of its
# own. Both arrive intact in both replicas.
mkdir -p "$T/stage/big" "$T/stage/huge"
for i in $(seq 1 5); do head -c 4000000 /dev/urandom >"$T/stage/big/r$i.bin"; done
mv "$T/stage/big" src/big
expect_same "a 20 MB change did not arrive intact" 120
for i in $(seq 1 12); do head -c 4000000 /dev/urandom >"$T/stage/huge/h$i.bin"; done
mv "$T/stage/huge" src/huge
expect_same "a 48 MB change did not arrive intact" 120

if [ "${DEVWATCH_AGENT:-}" = archive ]; then
	# The archive API has no session to keep in step, and it replaces a
	# file in the container with the tree's folder rather than failing:
	# the container ends as the tree.
	for r in 1 2; do
		docker exec "$P-box-$r" sh -c 'echo file > /data/blocker'
	done
	mkdir -p src/blocker
	for i in $(seq 1 8); do head -c 1000000 /dev/urandom >"src/blocker/b$i.bin"; done
	expect_same "the archive API did not put the tree's folder in place of a file" 60
else
	# When tar fails part-way through a streamed change (here a folder the
	# container holds as a file), the rest of the stream is drained: the
	# session keeps its framing and the next change still lands; the files
	# that failed are retried with the change after that.
	for r in 1 2; do
		docker exec "$P-box-$r" sh -c 'echo file > /data/blocker'
	done
	mkdir -p src/blocker
	for i in $(seq 1 8); do head -c 1000000 /dev/urandom >"src/blocker/b$i.bin"; done
	wait_for 60 up_log_has "could not sync" || fail "a failing tar was not reported"
	echo after >src/after.txt
	for r in 1 2; do
		wait_for 30 sh -c "[ \"\$(docker exec $P-box-$r cat /data/after.txt 2>/dev/null)\" = after ]" ||
			fail "the session lost its framing after a failed tar (replica $r)"
	done
	# What could not be synced is not dropped: once the obstacle is gone, the
	# next change brings it along.
	for r in 1 2; do
		docker exec "$P-box-$r" rm -f /data/blocker
	done
	echo later >src/later.txt
	expect_same "files that could not be synced were dropped instead of retried" 60

	# blocked_change NAME WHAT: with /data/NAME a file in both replicas, move
	# the staged folder $T/stage/NAME in as src/NAME. The failure must be
	# reported, a save after it must still land (the session kept its step),
	# and once the obstacle is gone the next save brings the failed files.
	blocked_change() {
		local name=$1 what=$2 failures r
		failures=$(grep -c "could not sync" "$T/up.log")
		for r in 1 2; do
			docker exec "$P-box-$r" sh -c "echo file > /data/$name"
		done
		mv "$T/stage/$name" "src/$name"
		wait_for 60 sh -c "[ \$(grep -c 'could not sync' '$T/up.log') -gt $failures ]" ||
			fail "a failing $what was not reported"
		echo "after $name" >"src/after-$name.txt"
		for r in 1 2; do
			wait_for 30 sh -c "[ \"\$(docker exec $P-box-$r cat /data/after-$name.txt 2>/dev/null)\" = 'after $name' ]" ||
				fail "the session lost its step after a failed $what (replica $r)"
		done
		for r in 1 2; do
			docker exec "$P-box-$r" rm -f "/data/$name"
		done
		echo later >"src/later-$name.txt"
		expect_same "a failed $what was not retried" 120
	}

	# A save small enough to go as one frame ("w"): 200 KB, more than the pipe
	# between the agent's dd and tar holds, so without the drain dd would stop
	# mid-frame when tar fails and the session would lose step.
	mkdir -p "$T/stage/blocker2"
	head -c 200000 /dev/urandom >"$T/stage/blocker2/one.bin"
	blocked_change blocker2 "one-frame tar"
	# A change large enough for a tar exec of its own (36 MB): the agent's
	# session is not involved, and must go on.
	mkdir -p "$T/stage/blocker3"
	for i in $(seq 1 9); do head -c 4000000 /dev/urandom >"$T/stage/blocker3/c$i.bin"; done
	blocked_change blocker3 "direct tar"
fi
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
