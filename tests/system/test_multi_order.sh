#!/usr/bin/env bash
# Start order under depends_on: "ready" holds a container until the other
# passed its readiness, "completed" until a job exited 0, "started" until the
# other runs. The test holds each gate shut, checks that what waits behind it
# was not even created, then opens it.
. "$(dirname "$0")/lib.sh"
dw_init order
mkdir -p "$T/p"
cat >"$T/p/devwatch.json" <<JSON
{
  "name": "$P",
  "containers": {
    "db": { "image": "busybox:1.36", "pull": "never", "cmd": ["sleep", "3600"],
            "readiness": { "cmd": ["test", "-e", "/tmp/open"], "start_timeout": "5m" } },
    "migrate": { "image": "busybox:1.36", "pull": "never", "job": true,
                 "depends_on": { "db": "ready" },
                 "cmd": "until [ -e /tmp/go ]; do sleep 0.05; done; echo migrated" },
    "api": { "image": "busybox:1.36", "pull": "never", "cmd": ["sleep", "3600"],
             "depends_on": { "migrate": "completed", "db": "started" } },
    "web": { "image": "busybox:1.36", "pull": "never", "cmd": ["sleep", "3600"],
             "depends_on": { "api": "started" } }
  }
}
JSON
PROJ=$T/p/devwatch.json
dw_up --no-watch
exists() { docker inspect "$P-$1-1" >/dev/null 2>&1; }
running() { [ "$(docker inspect -f '{{.State.Running}}' "$P-$1-1" 2>/dev/null)" = true ]; }
wait_for 120 running db || fail "db did not start"
wait_for 30 up_log_has "migrate +waits for db \(ready\)" || fail "up did not say migrate waits for db"
wait_for 30 up_log_has "api +waits for migrate \(completed\)" || fail "up did not say api waits for migrate"
# Gate 1: db is running but not ready, so nothing behind it exists.
! exists migrate || fail "migrate was created before db was ready"
! exists api || fail "api was created before migrate completed"
in_container db touch /tmp/open
wait_for 30 running migrate || fail "migrate did not start once db was ready"
# Gate 2: the job runs but has not completed.
! exists api || fail "api was created while migrate still ran"
! exists web || fail "web was created before api started"
in_container migrate touch /tmp/go
dw_wait_ready 60
up_log_has "migrate +\| migrated" || fail "the job's output is missing"
up_log_has "migrate +completed \(exit 0\)" || fail "up did not say migrate completed"
up_log_has "api +starting: migrate completed, db started" || fail "up did not say why api starts"
# started: web was created after api had started.
api_started=$(docker inspect -f '{{.State.StartedAt}}' "$P-api-1")
web_created=$(docker inspect -f '{{.Created}}' "$P-web-1")
[[ "$web_created" > "$api_started" ]] || fail "web created at $web_created, before api started at $api_started"
migrate_done=$(docker inspect -f '{{.State.FinishedAt}}' "$P-migrate-1")
api_created=$(docker inspect -f '{{.Created}}' "$P-api-1")
[[ "$api_created" > "$migrate_done" ]] || fail "api created at $api_created, before migrate ended at $migrate_done"
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC"
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
