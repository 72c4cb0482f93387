#!/usr/bin/env bash
# A job runs again when its image is rebuilt (and stores its dataset
# again); rebuilding a container that others depend on replaces it and
# leaves them running (compose #13853).
. "$(dirname "$0")/lib.sh"
dw_init mrebuild
mkdir -p "$T/p/gen" "$T/p/api"
echo first >"$T/p/gen/msg.txt"
printf 'FROM busybox:1.36\nCOPY msg.txt /msg.txt\n' >"$T/p/gen/Dockerfile"
echo one >"$T/p/api/v.txt"
printf 'FROM busybox:1.36\nCOPY v.txt /v.txt\n' >"$T/p/api/Dockerfile"
cat >"$T/p/devwatch.json" <<JSON
{
  "name": "$P",
  "containers": {
    "gen": { "build": "gen", "job": true,
             "cmd": "echo \"generated \$(cat /msg.txt)\"; mkdir -p /out && cp /msg.txt /out/",
             "datasets": [ { "path": "/out", "sink": "out/gen" } ] },
    "api": { "build": "api", "cmd": ["sleep", "3600"], "stop_grace": "1s",
             "depends_on": { "gen": "completed" } },
    "web": { "image": "busybox:1.36", "pull": "never", "cmd": ["sleep", "3600"],
             "depends_on": { "api": "ready" } }
  }
}
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
[ "$(cat "$T/p/out/gen/msg.txt")" = first ] || fail "the job's first dataset is missing"
web_id=$(cid web)
web_started=$(docker inspect -f '{{.State.StartedAt}}' "$web_id")
# The job's image is rebuilt: it runs again.
echo second >"$T/p/gen/msg.txt"
wait_for 120 up_log_has "gen +\| generated second" || fail "the job did not run again after its rebuild"
wait_for 60 sh -c "[ \"\$(cat '$T/p/out/gen/msg.txt')\" = second ]" || fail "the rerun's dataset was not stored"
# api is rebuilt and replaced; web, which depends on it, keeps running.
api_id=$(cid api)
echo two >"$T/p/api/v.txt"
replaced() { [ -n "$(cid api)" ] && [ "$(cid api)" != "$api_id" ]; }
wait_for 120 replaced || fail "api was not replaced"
[ "$(in_container api cat /v.txt)" = two ] || fail "the new api is not the rebuilt one"
[ "$(cid web)" = "$web_id" ] || fail "web was replaced when api was"
[ "$(docker inspect -f '{{.State.StartedAt}}' "$web_id")" = "$web_started" ] || fail "web restarted when api was replaced"
[ "$(docker inspect -f '{{.State.Running}}' "$web_id")" = true ] || fail "web stopped"
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC"
echo ok
