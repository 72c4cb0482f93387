#!/usr/bin/env bash
# After `kill -9` of up, `down` stores the datasets of what still runs,
# then leaves no container, no network and no dataset temporary folder.
# A second up after the kill takes over the network the first one made.
. "$(dirname "$0")/lib.sh"
dw_init mdown
mkdir -p "$T/p"
cat >"$T/p/devwatch.json" <<JSON
{
  "name": "$P",
  "containers": {
    "svc": { "image": "busybox:1.36", "pull": "never", "stop_grace": "1s",
             "cmd": "mkdir -p /out && echo from-svc > /out/state && exec sleep 3600",
             "datasets": [ { "path": "/out", "sink": "reports/svc" } ] },
    "peer": { "image": "busybox:1.36", "pull": "never", "cmd": ["sleep", "3600"] }
  }
}
JSON
PROJ=$T/p/devwatch.json
dw_up --no-watch
dw_wait_ready
kill -KILL "$UP_PID"
wait "$UP_PID" 2>/dev/null || true
UP_PID=
[ "$(count_containers)" -eq 2 ] || fail "expected the containers to survive SIGKILL"
docker network inspect "devwatch-$P" >/dev/null 2>&1 || fail "expected the network to survive SIGKILL"
# A second up adopts the containers on the network the first one made.
dw_up --no-watch
dw_wait_ready
up_log_has "adopted running container $P-svc-1" || fail "the second up did not adopt svc"
[ "$(in_container peer nslookup svc 2>/dev/null | grep -c '^Address')" -ge 1 ] || fail "svc does not resolve after adoption"
kill -KILL "$UP_PID"
wait "$UP_PID" 2>/dev/null || true
UP_PID=
# What a copy killed half-way leaves beside the sink.
mkdir -p "$T/p/reports/svc.devwatch-Zq81xk/new" "$T/p/reports/svc.devwatch-Ab12Cd"
chmod 0500 "$T/p/reports/svc.devwatch-Zq81xk/new"
"$DEVWATCH" down -f "$PROJ" >"$T/down.log" 2>&1 || fail "down failed: $(cat "$T/down.log")"
grep -q "removed $P-svc-1" "$T/down.log" || fail "down did not say it removed svc: $(cat "$T/down.log")"
grep -q "removed network devwatch-$P" "$T/down.log" || fail "down did not say it removed the network"
grep -q "svc  stored /out in reports/svc · 1 file" "$T/down.log" || fail "down did not store svc's dataset: $(cat "$T/down.log")"
[ "$(cat "$T/p/reports/svc/state")" = from-svc ] || fail "the stored dataset is wrong"
[ "$(count_containers)" -eq 0 ] || fail "down left containers"
if docker network inspect "devwatch-$P" >/dev/null 2>&1; then fail "down left the network"; fi
left=$(ls -d "$T/p/reports/"*.devwatch-* 2>/dev/null || true)
[ -z "$left" ] || fail "down left temporary folders: $left"
"$DEVWATCH" down -f "$PROJ" | grep -q "no containers" || fail "second down"
echo ok
