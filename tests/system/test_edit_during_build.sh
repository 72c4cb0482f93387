#!/usr/bin/env bash
# Edits made while `up` builds the image and while the container starts all
# reach the container. The build is held at a RUN step (after COPY src, so
# the build has the older tree) until the test has edited files that came
# with the image: modified, deleted, renamed, chmod-ed, a folder removed,
# new ones added. The container's readiness waits for a file the test
# creates after a second round of edits. Ends in dw_converge.
. "$(dirname "$0")/lib.sh"
dw_init editbuild
dw_gate
mkdir -p "$T/p/src/sub" "$T/p/src/olddir/inner"
cd "$T/p"
for f in keep gone moved; do echo "$f from the image" >"src/$f.txt"; done
echo "#!/bin/sh" >src/run.sh
echo inner >src/olddir/inner/f.txt
echo sub >src/sub/s.txt
cat >Dockerfile <<DF
FROM busybox:1.36
COPY src /data
RUN until wget -q -O /dev/null "$GATE"; do sleep 0.2; done
CMD ["sleep", "86400"]
DF
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "box": {
  "build": { "context": "." },
  "readiness": { "cmd": ["test", "-f", "/tmp/ready"] },
  "live_update": [ { "sync": { "from": "src", "to": "/data" } } ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
building() { up_alive; gate_reached; }
wait_for 120 building || fail "the build never reached its gate"

# Round 1, while the image builds from the older tree.
echo "keep, edited during the build" >src/keep.txt
rm src/gone.txt
mv src/moved.txt src/sub/renamed.txt
chmod 0755 src/run.sh
rm -rf src/olddir
mkdir -p src/new/deep
echo "added during the build" >src/new/deep/file.txt
gate_open

# Round 2, while the container starts (running, not yet ready).
started() { up_alive; [ "$(docker inspect -f '{{.State.Running}}' "$P-box-1" 2>/dev/null)" = true ]; }
wait_for 120 started || fail "the container did not start"
up_log_has "ready in" && fail "test bug: the container was ready before its readiness file existed"
echo "keep, edited during start-up" >src/keep.txt
echo late >src/late.txt
rm src/sub/s.txt
docker exec "$P-box-1" touch /tmp/ready
dw_wait_ready 60
dw_converge 30 "$P-box-1" /data src
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
