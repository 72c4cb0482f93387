#!/usr/bin/env bash
# Edits made while a fall_back_on rebuild runs reach the new container.
# The rebuild is held at a RUN step (after COPY src: it builds the older
# tree) while the test edits files that came with the image: modified,
# deleted, renamed, chmod-ed, a folder removed, new ones added. The new
# container (a new ID) must end equal to the local tree.
. "$(dirname "$0")/lib.sh"
dw_init editrebuild
dw_gate
mkdir -p "$T/p/src/sub" "$T/p/src/olddir/inner"
cd "$T/p"
for f in keep gone moved; do echo "$f from the image" >"src/$f.txt"; done
echo "#!/bin/sh" >src/run.sh
echo inner >src/olddir/inner/f.txt
echo sub >src/sub/s.txt
echo go >gate.txt
# The first build passes; a gate.txt that says "wait" holds the rebuild.
cat >Dockerfile <<DF
FROM busybox:1.36
COPY gate.txt /gate.txt
COPY src /data
RUN if grep -q wait /gate.txt; then until wget -q -O /dev/null "$GATE"; do sleep 0.2; done; fi
CMD ["sleep", "86400"]
DF
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "box": {
  "build": { "context": "." },
  "live_update": [
    { "fall_back_on": ["gate.txt"] },
    { "sync": { "from": "src", "to": "/data" } } ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
gate_reached && fail "test bug: the first build waited at the gate"
id=$(cid box)

echo wait >gate.txt
rebuilding() { up_alive; gate_reached; }
wait_for 120 rebuilding || fail "the rebuild never reached its gate"
echo "keep, edited during the rebuild" >src/keep.txt
rm src/gone.txt
mv src/moved.txt src/sub/renamed.txt
chmod 0755 src/run.sh
rm -rf src/olddir
mkdir -p src/new/deep
echo "added during the rebuild" >src/new/deep/file.txt
# The build polls its gate every 0.2 s: the watcher (3 ms settle) has these
# edits long before the image is done.
gate_open
replaced() { up_alive; [ -n "$(cid box)" ] && [ "$(cid box)" != "$id" ] && [ "$(count_containers)" -eq 1 ]; }
wait_for 120 replaced || fail "the rebuild did not replace the container (or left the old one)"
dw_converge 30 "$P-box-1" /data src
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
