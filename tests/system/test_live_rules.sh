#!/usr/bin/env bash
# DESIGN.md section 4, rule by rule, checked on the engine: a synced edit is
# written into the same container; a context file no instruction reads
# changes nothing; a Dockerfile input no sync covers, a fall_back_on file,
# the Dockerfile and .dockerignore each replace the container with a new
# image; a .dockerignored file changes nothing.
. "$(dirname "$0")/lib.sh"
dw_init rules
mkdir -p "$T/p/app" "$T/p/conf"
cd "$T/p"
cat >Dockerfile <<'DF'
FROM busybox:1.36
COPY conf/settings.txt /etc/settings.txt
COPY app /app
CMD ["httpd", "-f", "-p", "80", "-h", "/app"]
DF
printf 'conf/ignored.txt\n' >.dockerignore
echo v1 >app/index.html
echo s1 >conf/settings.txt
echo i1 >conf/ignored.txt
echo d1 >deps.txt
echo r1 >README.md
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "web": {
  "build": { "context": "." },
  "ports": ["0:80"],
  "readiness": { "http": "/" },
  "live_update": [
    { "fall_back_on": ["deps.txt"] },
    { "sync": { "from": "app", "to": "/app" } }
  ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
port() { host_port web 80; }
served() { [ "$(curl -sf "http://127.0.0.1:$(port)/")" = "$1" ]; }
settings() { [ "$(in_container web cat /etc/settings.txt)" = "$1" ]; }

id=$(cid web)
# 1. A synced edit: same container, new content.
echo v2 >app/index.html
wait_for 30 served v2 || fail "synced edit not served"
[ "$(cid web)" = "$id" ] || fail "a synced edit replaced the container"

# 2. A context file no instruction reads: nothing. The sentinel edit after
# it comes through the same queue, so a rebuild would show by then.
echo r2 >README.md
echo v3 >app/index.html
wait_for 30 served v3 || fail "sentinel edit not served"
[ "$(cid web)" = "$id" ] || fail "an unread context file replaced the container"

# 3. A .dockerignored file: nothing.
echo i2 >conf/ignored.txt
echo v4 >app/index.html
wait_for 30 served v4 || fail "sentinel edit not served"
[ "$(cid web)" = "$id" ] || fail "a .dockerignored file replaced the container"

# 4. A Dockerfile input no sync covers: rebuild and replace.
echo s2 >conf/settings.txt
wait_for 120 settings s2 || fail "Dockerfile input did not rebuild"
[ "$(cid web)" != "$id" ] || fail "container not replaced"
served v4 || fail "new container lost the synced content"
id=$(cid web)

# 5. fall_back_on: rebuild.
echo d2 >deps.txt
wait_for 120 sh -c "[ \"\$(docker inspect -f '{{.Id}}' $P-web-1 2>/dev/null)\" != '$id' ] && [ -n \"\$(docker inspect -f '{{.Id}}' $P-web-1 2>/dev/null)\" ]" || fail "fall_back_on did not rebuild"
wait_for 30 served v4 || fail "not serving after fall_back_on"
id=$(cid web)

# 6. The Dockerfile: rebuild (and the new instruction takes effect).
sed -i 's|^CMD|RUN echo built-again >/etc/marker\nCMD|' Dockerfile
wait_for 120 sh -c "docker exec $P-web-1 cat /etc/marker 2>/dev/null | grep -q built-again" || fail "Dockerfile change did not rebuild"
id=$(cid web)

# 7. .dockerignore: rebuild (settings.txt is now excluded from the context).
printf 'conf/ignored.txt\nREADME.md\n' >.dockerignore
wait_for 120 sh -c "[ \"\$(docker inspect -f '{{.Id}}' $P-web-1 2>/dev/null)\" != '$id' ] && [ -n \"\$(docker inspect -f '{{.Id}}' $P-web-1 2>/dev/null)\" ]" || fail ".dockerignore change did not rebuild"
wait_for 30 served v4 || fail "not serving after the .dockerignore rebuild"
up_log_has "rebuilding: conf/settings.txt is a Dockerfile input" || fail "no reason naming the file"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
