#!/usr/bin/env bash
# fall_back_on on a container that runs a registry image ("image", no
# build): editing the fall_back_on file recreates the container (a new
# engine ID) from the image, and a catch-up sync puts the synced folder in
# it, the changes pending in the same batch included.
. "$(dirname "$0")/lib.sh"
dw_init fbreg
mkdir -p "$T/p/src/sub"
cd "$T/p"
echo one >src/a.txt
echo two >src/sub/b.txt
echo v1 >settings.conf
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "box": {
  "image": "busybox:1.36",
  "pull": "never",
  "cmd": "exec sleep 86400",
  "live_update": [
    { "fall_back_on": ["settings.conf"] },
    { "sync": { "from": "src", "to": "/data" } } ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
echo edited >src/a.txt
dw_converge 30 "$P-box-1" /data src
id=$(cid box)

# One batch (written at once, well inside the settle time): synced edits, an
# add, a delete, a chmod, and the fall_back_on file.
python3 - <<'PY'
import os
open("src/a.txt", "w").write("edited again\n")
open("src/sub/c.txt", "w").write("new\n")
os.chmod("src/sub/c.txt", 0o700)
os.unlink("src/sub/b.txt")
open("settings.conf", "w").write("v2\n")
PY
recreated() { up_alive; [ -n "$(cid box)" ] && [ "$(cid box)" != "$id" ] && [ "$(count_containers)" -eq 1 ]; }
wait_for 60 recreated || fail "editing the fall_back_on file did not recreate the container (or left the old one)"
dw_converge 30 "$P-box-1" /data src
# The recreated container goes on taking live updates.
echo after >src/after.txt
dw_converge 30 "$P-box-1" /data src
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
