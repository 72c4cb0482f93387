#!/usr/bin/env bash
# compose's sync+exec, sync+restart and rebuild actions (after docker/compose
# pkg/e2e/watch_test.go TestWatchExec and the sync+restart half of doTest),
# on three services of one compose.yaml built from busybox:1.36: an exec
# runs after each sync, a restart re-runs the command that reads the
# synced config, and a rebuild replaces its own service only (compose
# #13853 cascades). src/a.txt is there before `up` and reaches the
# container though its image does not COPY it. Each step is checked in the
# containers' files.
. "$(dirname "$0")/lib.sh"
dw_init composeact
mkdir -p "$T/p/src" "$T/p/conf"
cd "$T/p"
echo one >src/a.txt
echo v1 >conf/app.conf
echo stamp-1 >stamp.txt
cat >compose.yaml <<YAML
name: $P
x-box: &box
  build:
    dockerfile_inline: |
      FROM busybox:1.36
      RUN mkdir -p /app /etc/conf
services:
  exec:
    <<: *box
    command: ["sleep", "86400"]
    develop:
      watch:
        - action: sync+exec
          path: ./src
          target: /app
          exec:
            command: sh -c 'ls /app > /tmp/list'
  restarter:
    <<: *box
    command: ["sh", "-c", "trap 'exit 0' TERM; cat /etc/conf/app.conf > /tmp/loaded; while :; do sleep 1; done"]
    develop:
      watch:
        - {action: sync+restart, path: ./conf, target: /etc/conf}
  rebuilt:
    build:
      dockerfile_inline: |
        FROM busybox:1.36
        COPY stamp.txt /stamp
        CMD ["sleep", "86400"]
    develop:
      watch:
        - {action: rebuild, path: ./stamp.txt}
YAML
PROJ=$T/p/compose.yaml
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"

# sync+exec: the command runs in the container after the sync.
echo two >src/b.txt
dw_converge 30 "$P-exec-1" /app "$T/p/src"
listed() { [ "$(docker exec "$P-exec-1" cat /tmp/list 2>/dev/null)" = "$(printf 'a.txt\nb.txt')" ]; }
wait_for 30 listed || fail "the exec did not run after the sync: $(docker exec "$P-exec-1" cat /tmp/list 2>&1)"

# sync+restart: the restarted command reads the new config.
echo v2 >conf/app.conf
dw_converge 30 "$P-restarter-1" /etc/conf "$T/p/conf"
loaded() { [ "$(docker exec "$P-restarter-1" cat /tmp/loaded 2>/dev/null)" = v2 ]; }
wait_for 60 loaded || fail "the container was not restarted after the sync"

# rebuild: a new image and container for this service, nothing else.
exec_id=$(cid exec)
restarter_id=$(cid restarter)
rebuilt_id=$(cid rebuilt)
echo stamp-2 >stamp.txt
stamped() { [ "$(docker exec "$P-rebuilt-1" cat /stamp 2>/dev/null)" = stamp-2 ]; }
wait_for 120 stamped || fail "the rebuild rule did not rebuild"
[ "$(cid rebuilt)" != "$rebuilt_id" ] || fail "the rebuilt service kept its container"
[ "$(cid exec)" = "$exec_id" ] || fail "a rebuild of 'rebuilt' replaced 'exec'"
[ "$(cid restarter)" = "$restarter_id" ] || fail "a rebuild of 'rebuilt' replaced 'restarter'"
dw_stop
