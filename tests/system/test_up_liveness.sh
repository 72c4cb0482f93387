#!/usr/bin/env bash
# A liveness probe that keeps failing restarts the container, which then
# passes readiness again; a healthy container is left alone.
. "$(dirname "$0")/lib.sh"
dw_init liveness
mkdir -p "$T/proj"
printf 'FROM busybox:1.36\n' >"$T/proj/Dockerfile"
cat >"$T/proj/devwatch.json" <<JSON
{ "name": "$P", "containers": { "app": {
  "build": { "context": "." },
  "cmd": "date +%s%N >> /tmp/starts; touch /tmp/alive; exec sleep 86400",
  "readiness": { "cmd": ["test", "-f", "/tmp/alive"] },
  "liveness": { "cmd": ["test", "-f", "/tmp/alive"], "interval": "100ms", "retries": 2 } } } }
JSON
PROJ=$T/proj/devwatch.json
dw_up
dw_wait_ready
starts() { docker exec "$P-app-1" cat /tmp/starts | wc -l; }
id=$(cid app)
[ "$(starts)" -eq 1 ] || fail "expected one start"
docker exec "$P-app-1" rm /tmp/alive
wait_for 30 sh -c "[ \$(docker exec $P-app-1 cat /tmp/starts 2>/dev/null | wc -l) -eq 2 ]" || fail "failing liveness did not restart the container"
wait_for 30 docker exec "$P-app-1" test -f /tmp/alive || fail "not alive after the restart"
[ "$(cid app)" = "$id" ] || fail "liveness replaced the container instead of restarting it"
up_log_has "liveness probe failed 2 times; restarting" || fail "no message for the restart"
kill -0 "$UP_PID" || fail "up exited"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
