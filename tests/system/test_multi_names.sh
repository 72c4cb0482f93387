#!/usr/bin/env bash
# Containers find each other on the project network by name and by alias;
# replicas share their name; a sidecar reaches its host on localhost; and
# Ctrl-C removes the network with the containers.
. "$(dirname "$0")/lib.sh"
dw_init names
mkdir -p "$T/p"
cat >"$T/p/devwatch.json" <<JSON
{
  "name": "$P",
  "containers": {
    "api": { "image": "busybox:1.36", "pull": "never", "aliases": ["backend"],
             "cmd": "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8081 -h /www" },
    "pool": { "image": "busybox:1.36", "pull": "never", "replicas": 2,
              "cmd": "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8082 -h /www" },
    "side": { "image": "busybox:1.36", "pull": "never", "network": "container:api",
              "cmd": ["sleep", "3600"] },
    "client": { "image": "busybox:1.36", "pull": "never", "cmd": ["sleep", "3600"] }
  }
}
JSON
PROJ=$T/p/devwatch.json
dw_up --no-watch
dw_wait_ready
net=devwatch-$P
[ "$(docker network inspect -f '{{index .Labels "dev.devwatch.project"}}' "$net")" = "$P" ] ||
	fail "no network $net labelled with the project"
api_host=$(docker inspect -f '{{.Config.Hostname}}' "$P-api-1")
get() { in_container client wget -q -O - "$1"; }
[ "$(get http://api:8081/)" = "$api_host" ] || fail "api not reached by its name"
[ "$(get http://backend:8081/)" = "$api_host" ] || fail "api not reached by its alias"
# Both replicas answer to "pool": ask until each has answered.
h1=$(docker inspect -f '{{.Config.Hostname}}' "$P-pool-1")
h2=$(docker inspect -f '{{.Config.Hostname}}' "$P-pool-2")
[ "$(in_container client nslookup pool 2>/dev/null | grep -c '^Address')" -ge 2 ] ||
	fail "'pool' does not resolve to both replicas: $(in_container client nslookup pool 2>&1)"
seen1= seen2=
for _ in $(seq 1 100); do
	got=$(get http://pool:8082/ || true)
	[ "$got" = "$h1" ] && seen1=1
	[ "$got" = "$h2" ] && seen2=1
	[ -n "$seen1" ] && [ -n "$seen2" ] && break
done
[ -n "$seen1" ] && [ -n "$seen2" ] || fail "'pool' did not reach both replicas ($seen1/$seen2)"
# The sidecar shares api's network namespace: api is its localhost.
[ "$(in_container side wget -q -O - http://localhost:8081/)" = "$api_host" ] ||
	fail "the sidecar does not reach api on localhost"
[ "$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$P-side-1")" = "container:$(cid api)" ] ||
	fail "the sidecar is not in api's namespace"
up_log_has "side +waits for api \(started; its network\)" || fail "up did not say the sidecar waits for api"
kill -INT "$UP_PID"
UP_RC=0
wait "$UP_PID" || UP_RC=$?
UP_PID=
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC after Ctrl-C"
[ "$(count_containers)" -eq 0 ] || fail "containers left after Ctrl-C"
if docker network inspect "$net" >/dev/null 2>&1; then fail "network $net left after Ctrl-C"; fi
echo ok
