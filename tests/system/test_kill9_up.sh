#!/usr/bin/env bash
# `devwatch up` killed with SIGKILL, the tree edited while it is down
# (modified, added, deleted, chmod-ed, a folder removed, files that came
# with the image among them), then `up` again: the running container is
# adopted (the same engine ID), a catch-up sync makes its folder equal to
# the local tree, and the run step whose trigger matches runs.
. "$(dirname "$0")/lib.sh"
dw_init kill9
mkdir -p "$T/p/src/imgdir/inner" "$T/p/src/sub"
cd "$T/p"
for f in keep gone chm; do echo "$f from the image" >"src/$f.txt"; done
echo inner >src/imgdir/inner/f.txt
echo sub >src/sub/s.txt
printf 'FROM busybox:1.36\nCOPY src /data\nCMD ["sleep", "86400"]\n' >Dockerfile
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "box": {
  "build": { "context": "." },
  "live_update": [
    { "sync": { "from": "src", "to": "/data" } },
    { "run": { "cmd": "echo ran >>/tmp/runs", "trigger": ["src/sub/**"] } } ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
echo "synced while up" >src/sub/live.txt
dw_converge 30 "$P-box-1" /data src
runs() { docker exec "$P-box-1" cat /tmp/runs 2>/dev/null | wc -l; }
wait_for 30 test "$(runs)" -ge 1 || fail "the run step did not run"
before=$(runs)
id=$(cid box)
kill -KILL "$UP_PID"
wait "$UP_PID" 2>/dev/null || true
UP_PID=
[ "$(cid box)" = "$id" ] || fail "the container did not survive SIGKILL of up"

# While devwatch is down.
echo "keep, edited offline" >src/keep.txt
rm src/gone.txt
chmod 0750 src/chm.txt
rm -rf src/imgdir
rm src/sub/live.txt
echo "added offline" >src/sub/new.txt
mkdir -p src/newdir/deep
echo deep >src/newdir/deep/d.txt

mv "$T/up.log" "$T/up1.log"
dw_up
dw_wait_ready
# Every offline edit is under src/, which a sync rule covers: at run time
# such an edit is synced, never rebuilt (DESIGN.md section 4), and so it is
# here, though `COPY src /data` reads it.
[ "$(cid box)" = "$id" ] || fail "the container was not adopted (a new one replaced it) though every offline edit is to a synced path"
dw_converge 30 "$P-box-1" /data src
wait_for 30 test "$(runs)" -gt "$before" || fail "the catch-up sync did not run the triggered run step"
# And it goes on live-updating.
echo after >src/after.txt
dw_converge 30 "$P-box-1" /data src
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
