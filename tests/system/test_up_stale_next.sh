#!/usr/bin/env bash
# A devwatch killed in the middle of a fixed-port replacement leaves
# "<name>-next" running on the port. The next `up` removes it and starts
# the container on its own port, and the site is served and synced.
. "$(dirname "$0")/lib.sh"
dw_init stalenext
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
mkdir -p "$T/proj/site"
echo "v1" >"$T/proj/site/index.html"
printf 'FROM busybox:1.36\nCOPY site /www\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n' >"$T/proj/Dockerfile"
cat >"$T/proj/devwatch.json" <<JSON
{ "name": "$P", "containers": { "web": {
  "build": { "context": "." },
  "ports": ["$port:80"],
  "readiness": { "http": "/" },
  "live_update": [ { "sync": { "from": "site", "to": "/www" } } ] } } }
JSON
PROJ=$T/proj/devwatch.json
# What the cut-short replacement left: a labelled "-next" holding the port.
docker run -d --name "$P-web-1-next" --label "dev.devwatch.project=$P" \
	-p "$port:80" busybox:1.36 httpd -f -p 80 -h / >/dev/null
dw_up
dw_wait_ready
docker inspect "$P-web-1-next" >/dev/null 2>&1 && fail "the stale -next container is still there"
[ "$(curl -sf "http://127.0.0.1:$port/")" = "v1" ] || fail "the site is not served on its own port"
echo "v2" >"$T/proj/site/index.html"
dw_converge 30 "$P-web-1" /www "$T/proj/site"
[ "$(curl -sf "http://127.0.0.1:$port/")" = "v2" ] || fail "the edit is not served"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left after SIGTERM"
echo ok
