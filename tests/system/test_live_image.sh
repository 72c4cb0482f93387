#!/usr/bin/env bash
# A container from a registry image (no build) gets an initial sync of its
# synced paths before it counts as ready, then live updates; pull "missing"
# uses the local image, and pull "never" with an absent image is a clear
# error that starts nothing.
. "$(dirname "$0")/lib.sh"
dw_init image
mkdir -p "$T/p/site/sub"
cd "$T/p"
echo hello >site/index.html
echo deep >site/sub/page.html
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "web": {
  "image": "busybox:1.36", "pull": "missing",
  "cmd": "mkdir -p /www && exec httpd -f -p 80 -h /www",
  "ports": ["0:80"],
  "live_update": [ { "sync": { "from": "site", "to": "/www" } } ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
served() { [ "$(curl -sf "http://127.0.0.1:$(host_port web 80)/$1")" = "$2" ]; }
# Ready means synced: no waiting here.
served "" hello || fail "initial sync did not happen before ready"
served sub/page.html deep || fail "initial sync missed a nested file"
wait_for 30 up_log_has "watching" || fail "watcher did not start"
echo again >site/index.html
wait_for 30 served "" again || fail "live update on an image container"
up_log_has "pulling" && fail "pull 'missing' pulled a present image"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"

cat >never.json <<JSON
{ "name": "$P", "containers": { "web": { "image": "devwatch-test/absent:$P", "pull": "never" } } }
JSON
rc=0
"$DEVWATCH" up -f never.json >"$T/never.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "absent image with pull never exited $rc"
grep -q "devwatch-test/absent:$P is not present and 'pull' is 'never'" "$T/never.log" || fail "unclear error: $(cat "$T/never.log")"
[ "$(count_containers)" -eq 0 ] || fail "started something"
echo ok
