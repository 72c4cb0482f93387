#!/usr/bin/env bash
# compose's own watch scenario (docker/compose pkg/e2e/watch_test.go,
# doTest, on fixtures/watch/compose.yaml's busybox service, built from
# busybox:1.36, with its init: true): `devwatch
# up` finds compose.yaml in the folder, builds the dockerfile_inline image
# and syncs ./data with its ignores ('*.foo', ./ignored). Create, modify and
# delete a file; an ignored extension and an ignored folder; an empty new
# folder; rapid rewrites where the last one wins; rm -rf of the folder. A
# file there before `up` arrives too, though the image does not COPY it
# (compose needs initial_sync for that). After each step the container's
# /app/data must equal the local data/ tree.
. "$(dirname "$0")/lib.sh"
dw_init composewatch
mkdir -p "$T/p/data"
cd "$T/p"
cat >compose.yaml <<YAML
name: $P
x-dev: &x-dev
  watch:
    - action: sync
      path: ./data
      target: /app/data
      ignore:
        - '*.foo'
        - ./ignored

services:
  busybox:
    build:
      dockerfile_inline: |-
        FROM busybox:1.36
        RUN mkdir -p /app/data
        RUN mkdir -p /app/config
    init: true
    command: sleep 86400
    develop: *x-dev
YAML
echo "there before up" >data/before.txt
PROJ=$T/p/compose.yaml
# No -f: up must find compose.yaml itself.
"$DEVWATCH" up >"$T/up.log" 2>&1 &
UP_PID=$!
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
C=$P-busybox-1
same() {
	dw_converge 30 "$C" /app/data "$T/p/data" --ignore '*.foo' --ignore ignored --ignore 'ignored/*'
}
same

echo "hello watch" >data/hello.txt
same
echo "hello again" >data/hello.txt
same
rm data/hello.txt
same

# Ignored paths never arrive; the marker written after them proves the
# batch that would have carried them has been applied.
echo ignored >data/data.foo
mkdir data/ignored
echo ignored >data/ignored/file.txt
echo marker >data/marker.txt
same
docker exec "$C" test -e /app/data/data.foo && fail "an ignored '*.foo' file was synced"
docker exec "$C" test -e /app/data/ignored && fail "the ignored folder was synced"

mkdir data/subdir
same
docker exec "$C" test -d /app/data/subdir || fail "the empty new folder is missing"
for v in a z x; do
	echo "$v" >data/subdir/file.txt
done
same
[ "$(docker exec "$C" cat /app/data/subdir/file.txt)" = x ] || fail "the last rewrite did not win"

rm -rf data/subdir
same

# The same project answers status and down through discovery too.
"$DEVWATCH" status >"$T/status.txt" 2>&1 || fail "status on compose.yaml failed: $(cat "$T/status.txt")"
grep -q busybox "$T/status.txt" || fail "status does not list the busybox service"
dw_stop
