#!/usr/bin/env bash
# An image with no shell (FROM scratch and one static binary) cannot host
# the fast channel: devwatch says why once and writes through the engine's
# archive API instead. Checked by HTTP answers. devwatch's own agent
# serves such images (test_live_scratch.sh), so it is turned off here.
. "$(dirname "$0")/lib.sh"
export DEVWATCH_AGENT=sh
dw_init fallback
mkdir -p "$T/p/www"
cd "$T/p"
cp /bin/busybox ./busybox
cat >Dockerfile <<'DF'
FROM scratch
COPY busybox /busybox
COPY www /www
CMD ["/busybox", "httpd", "-f", "-p", "80", "-h", "/www"]
DF
echo one >www/index.html
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "web": {
  "build": { "context": "." },
  "ports": ["0:80"],
  "readiness": { "http": "/" },
  "live_update": [ { "sync": { "from": "www", "to": "/www" } } ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
! docker exec "$P-web-1" sh -c true >/dev/null 2>&1 || fail "the image has a shell; the test proves nothing"
served() { [ "$(curl -sf "http://127.0.0.1:$(host_port web 80)/$1")" = "$2" ]; }
id=$(cid web)
echo two >www/index.html
wait_for 30 served "" two || fail "edit not applied through the fallback"
mkdir -p www/new && echo three >www/new/page.html
wait_for 30 served new/page.html three || fail "new folder not applied through the fallback"
[ "$(cid web)" = "$id" ] || fail "the fallback replaced the container"
up_log_has "fast channel unavailable \(.*\); using the engine's archive API" || fail "no reason given for the fallback"
[ "$(grep -c "fast channel unavailable" "$T/up.log")" -eq 1 ] || fail "the fallback reason was repeated"
dw_stop
echo ok
