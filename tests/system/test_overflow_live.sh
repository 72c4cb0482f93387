#!/usr/bin/env bash
# A forced inotify queue overflow during live updates under `up`: with the
# queue lowered to 16 events when the watcher starts, devwatch is stopped
# (SIGSTOP) right after an update went out, 300 files are added and files
# that came with the image are modified and deleted; after SIGCONT the
# overflow's rescan must bring the container equal to the local tree.
. "$(dirname "$0")/lib.sh"
dw_init ovlive
[ "$(id -u)" -eq 0 ] || fail "needs root, to lower fs.inotify.max_queued_events"
q=$(cat /proc/sys/fs/inotify/max_queued_events)
restore() { echo "$q" >/proc/sys/fs/inotify/max_queued_events; }
trap 'restore; dw_cleanup' EXIT
mkdir -p "$T/p/src/old"
cd "$T/p"
for i in $(seq 0 19); do echo "old $i" >"src/old/f$i"; done
printf 'FROM busybox:1.36\nCOPY src /data\nCMD ["sleep", "86400"]\n' >Dockerfile
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "box": {
  "build": { "context": "." },
  "live_update": [ { "sync": { "from": "src", "to": "/data" } } ] } } }
JSON
PROJ=$T/p/devwatch.json
# A watcher's queue size is fixed when it starts: lower it only until then
# (the limit is the whole machine's).
echo 16 >/proc/sys/fs/inotify/max_queued_events
dw_up -v
wait_for 120 up_log_has "watching" || fail "watcher did not start"
restore
dw_wait_ready
echo first >src/first.txt
dw_converge 30 "$P-box-1" /data src

# An update in flight (3 MiB), then devwatch stopped: its queue overflows.
head -c 3145728 /dev/urandom >src/big.bin
kill -STOP "$UP_PID"
for i in $(seq 0 299); do echo "new $i" >"src/new$i"; done
for i in $(seq 0 9); do rm "src/old/f$i"; done
echo changed >src/old/f10
chmod 0700 src/old/f11
mv src/old/f12 src/moved
kill -CONT "$UP_PID"
wait_for 60 up_log_has "overflow" || fail "no overflow happened; the test proves nothing"
dw_converge 60 "$P-box-1" /data src
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
