#!/usr/bin/env bash
# An engine whose published ports are not on 127.0.0.1: a private dockerd
# reached at its bridge address ($PD_NET.1). Container `a` publishes on
# another address ($PD_NET.2), so the engine reports HostIp $PD_NET.2 and
# only that address answers: the readiness probe and the printed URL must
# use it. (The daemon's --ip default covers only its default bridge; the
# project's own network binds 0.0.0.0 unless a port names an address.) Container `b` binds
# 0.0.0.0, so its URL is the engine's host. Saves reach both containers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enginelib.sh"
dw_init engine-ports
pd_bridge
port=$(free_port)
pd_start -H "tcp://$PD_NET.1:$port" --tls=false --ip "$PD_NET.2"
export DOCKER_HOST="tcp://$PD_NET.1:$port"
mkdir -p "$T/p/www"
echo "hello $P" >"$T/p/www/index.html"
cat >"$T/p/devwatch.json" <<JSON
{ "name": "$P", "containers": {
  "a": { "image": "busybox:1.36", "cmd": "mkdir -p /www && echo boot >/www/index.html && exec httpd -f -p 80 -h /www",
         "ports": ["$PD_NET.2:0:80"], "readiness": { "http": "/", "port": 80, "start_timeout": "20s" },
         "live_update": [ { "sync": { "from": "www", "to": "/www" } } ] },
  "b": { "image": "busybox:1.36", "cmd": "mkdir -p /www && echo boot >/www/index.html && exec httpd -f -p 80 -h /www",
         "ports": ["0.0.0.0:0:80"], "readiness": { "http": "/", "port": 80, "start_timeout": "20s" },
         "live_update": [ { "sync": { "from": "www", "to": "/www" } } ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready 120
grep -Eq "^a .*ready · http://$PD_NET\.2:[0-9]+/" "$T/up.log" || fail "a's URL is not on the reported HostIp $PD_NET.2"
grep -Eq "^b .*ready · http://$PD_NET\.1:[0-9]+/" "$T/up.log" || fail "b's URL is not on the engine's host $PD_NET.1"
ua=$(grep -Eo "http://$PD_NET\.2:[0-9]+/" "$T/up.log" | head -1)
ub=$(grep -Eo "http://$PD_NET\.1:[0-9]+/" "$T/up.log" | head -1)
# The port of `a` is not on loopback at all: a probe there would never pass.
curl -sf --max-time 2 "http://127.0.0.1:${ua##*:}" >/dev/null && fail "a's port answers on 127.0.0.1 too"
wait_for 30 up_log_has "watching" || fail "watcher did not start"

echo "saved $P" >"$T/p/www/index.html"
echo "more $P" >"$T/p/www/more.txt"
same() {
	local f c
	for c in a b; do
		for f in index.html more.txt; do
			[ "$(docker exec "$P-$c-1" cat "/www/$f")" = "$(cat "$T/p/www/$f")" ] || return 1
		done
	done
}
wait_for 30 same || fail "the containers' /www does not match www/"
[ "$(curl -sf "$ua")" = "saved $P" ] || fail "$ua does not serve the save"
[ "$(curl -sf "$ub")" = "saved $P" ] || fail "$ub does not serve the save"
dw_stop
[ "$UP_RC" = 0 ] || fail "up exited $UP_RC"
echo "ok"
