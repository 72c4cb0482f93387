#!/usr/bin/env bash
# restart: never, and a container that now fails at once on start (a bad
# config it read only at start). The save that fixes the config wakes it:
# the fixed files go into the stopped container before it starts, so it
# comes up, and the synced folder equals the local tree.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"
dw_init fault-start
fault_project never
fault_up
id0=$(cid app)
echo crash >"$T/proj/app/mode"
dw_converge 30 "$C" /app "$T/proj/app"

crash
wait_for 30 up_log_has "app +exited unexpectedly with code 3 and stays stopped" ||
	fail "the crash was not reported"

echo ok >"$T/proj/app/mode"
edit_tree
wait_for 30 up_log_has "app +wrote [0-9]+ files? into the stopped container before starting it" ||
	fail "the fix was not written into the stopped container"
wait_for 30 up_log_has "app +ready again" || fail "not ready after the fix"
dw_converge 60 "$C" /app "$T/proj/app"
[ "$(cid app)" = "$id0" ] || fail "not the same container"
[ "$(state '{{.State.Running}}')" = true ] || fail "not running after the fix"
# SIGTERM still ends it cleanly, removing what it started.
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC after SIGTERM"
[ "$(count_containers)" -eq 0 ] || fail "containers left behind"
echo ok
