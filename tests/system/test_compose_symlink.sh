#!/usr/bin/env bash
# Syncing through a folder the image holds as a symlink (after
# docker/compose pkg/e2e/watch_test.go TestWatchSyncIntoSymlinkedDirectory,
# compose #13795, on busybox:1.36): the image links /app/data/sub to
# /var/sub; a folder filled outside the watched tree is moved in as
# data/sub in one rename, the way a branch switch brings a folder with its
# content. devwatch writes nothing outside the rule's target: /app/data/sub
# becomes a real folder holding the file, /var/sub keeps only what the
# image put there, and /app/data equals the local data/ tree. Deleting the
# folder again removes it from /app/data and leaves /var/sub alone.
. "$(dirname "$0")/lib.sh"
dw_init composesym
mkdir -p "$T/p/data" "$T/p/staged/deeper"
cd "$T/p"
cat >compose.yaml <<YAML
name: $P
services:
  app:
    build:
      dockerfile_inline: |
        FROM busybox:1.36
        RUN mkdir -p /app/data /var/sub && echo image >/var/sub/from-image && \\
            ln -s /var/sub /app/data/sub
    init: true
    command: ["sleep", "86400"]
    develop:
      watch:
        - action: sync
          path: ./data
          target: /app/data
YAML
echo "hello symlink" >staged/hello.txt
echo "two down" >staged/deeper/more.txt
PROJ=$T/p/compose.yaml
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
C=$P-app-1

outside() { docker exec "$C" find /var/sub | sort | tr '\n' ' '; }
[ "$(outside)" = "/var/sub /var/sub/from-image " ] || fail "/var/sub changed at start: $(outside)"
docker exec "$C" test -L /app/data/sub || fail "the image's link /app/data/sub is gone before the change"

mv staged data/sub
dw_converge 30 "$C" /app/data "$T/p/data"
docker exec "$C" test -d /app/data/sub -a ! -L /app/data/sub || fail "/app/data/sub is still a link"
[ "$(outside)" = "/var/sub /var/sub/from-image " ] || fail "the sync wrote outside its target: $(outside)"

rm -rf data/sub
echo marker >data/marker.txt
dw_converge 30 "$C" /app/data "$T/p/data"
[ "$(outside)" = "/var/sub /var/sub/from-image " ] || fail "the delete reached outside its target: $(outside)"
dw_converge 5 "$C" /app/data "$T/p/data"
