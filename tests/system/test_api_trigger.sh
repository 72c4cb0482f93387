#!/usr/bin/env bash
# Trigger and restart through the control API and the CLI. A trigger
# without a session is an error; with one, `devwatch trigger` re-sends the
# synced files and runs the step again (its output file grows by a line)
# and reports an update; /api/restart gives the same container a new
# StartedAt and it is ready again, and a later edit still lands. `status`
# and `logs` answer from the session.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apilib.sh"
dw_init apitrig
api_project

out=$("$DEVWATCH" trigger -f "$PROJ" box 2>&1) && fail "trigger worked without a session: $out"
grep -q "no 'devwatch up' session runs" <<<"$out" || fail "unclear message without a session: $out"

dw_up
dw_wait_ready
api_wait

runs() { in_container box sh -c 'cat /tmp/runs 2>/dev/null | wc -l'; }
before=$(runs)
# Changed by hand in the container: the trigger puts the local file back.
in_container box sh -c 'echo hand >/data/a.txt'
"$DEVWATCH" trigger -f "$PROJ" box | grep -qx "triggered box" || fail "trigger did not say so"
more_runs() { [ "$(runs)" -gt "$before" ]; }
wait_for 60 more_runs || fail "the trigger did not run the step (runs: $(runs), before $before)"
dw_converge 30 "$P-box-1" /data "$T/p/src"
api_get /api/status | json 'j["containers"][0]["last_update"]["count"]' | grep -qx 1 ||
	fail "the trigger's update is not the last one: $(api_get /api/status)"

# Unknown names: 404 with the known ones; the CLI says so and fails.
[ "$(api_code -X POST -H 'Content-Type: application/json' -d '{}' "$API/api/trigger/nope")" = 404 ] ||
	fail "an unknown name is not 404"
"$DEVWATCH" trigger -f "$PROJ" nope 2>"$T/err" && fail "trigger of an unknown name worked"
grep -q "nope" "$T/err" || fail "no name in the error: $(cat "$T/err")"

# Restart: same container, new StartedAt, ready again.
id=$(cid box)
started=$(docker inspect -f '{{.State.StartedAt}}' "$P-box-1")
api_post /api/restart/box | json 'j["restarting"]' | grep -qx box || fail "restart not accepted"
restarted() { [ "$(docker inspect -f '{{.State.StartedAt}}' "$P-box-1")" != "$started" ]; }
wait_for 60 restarted || fail "StartedAt did not change"
[ "$(cid box)" = "$id" ] || fail "restart replaced the container"
ready_again() { [ "$(api_get /api/status | json 'j["containers"][0]["ready"]')" = True ]; }
wait_for 60 ready_again || fail "not ready after the restart"
wait_for 30 up_log_has "restarted and ready" || fail "up did not report the restart"
echo after >"$T/p/src/c.txt"
dw_converge 30 "$P-box-1" /data "$T/p/src"

# status and logs from the session.
"$DEVWATCH" status -f "$PROJ" | grep -E "^box +1 +ready +http://" >/dev/null ||
	fail "status does not come from the session: $("$DEVWATCH" status -f "$PROJ")"
[ "$(host_port box 80)" -gt 0 ] || fail "status --json lost the ports"
"$DEVWATCH" logs -f "$PROJ" box >"$T/logs" || fail "logs failed"
[ -s "$T/logs" ] || fail "no log lines (httpd -vv logs each request)"
! grep -v '^box | ' "$T/logs" || fail "log lines without their prefix"
"$DEVWATCH" logs -f "$PROJ" --follow >"$T/follow" 2>&1 &
FOLLOW_PID=$!
url=$(api_get /api/status | json 'j["containers"][0]["urls"][0]')
followed() { curl -s "${url}followed-mark" >/dev/null; grep -q "^box | .*url:/followed-mark" "$T/follow"; }
wait_for 30 followed || { kill $FOLLOW_PID; fail "logs --follow did not show a new line"; }
kill $FOLLOW_PID
dw_stop
echo PASS
