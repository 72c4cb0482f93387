#!/usr/bin/env bash
# restart: never. A container that exits on its own is reported with its
# exit code and last log lines and stays stopped; the next save that
# touches it starts the same container again, with its files, and the
# change arrives (the synced folder equals the local tree).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"
dw_init fault-never
fault_project never
fault_up
id0=$(cid app)
echo v2 >"$T/proj/app/index.html"
dw_converge 30 "$C" /app "$T/proj/app"

crash
wait_for 30 up_log_has "app +exited unexpectedly with code 3 and stays stopped \(restart: never\); the next save" ||
	fail "the crash was not reported"
wait_for 10 up_log_has "app \| fatal: got SIGUSR1" || fail "no log tail with the crash"
not_running() { [ "$(state '{{.State.Running}}')" = false ]; }
wait_for 10 not_running || fail "the container is running after its crash"
up_alive || fail "devwatch up ended after the crash"

edit_tree
wait_for 30 up_log_has "app +starting it again for this change" || fail "the save did not wake it"
dw_converge 60 "$C" /app "$T/proj/app"
[ "$(cid app)" = "$id0" ] || fail "not the same container: $id0 became $(cid app)"
[ "$(state '{{.State.Running}}')" = true ] || fail "not running after the save"
up_alive || fail "devwatch up ended"
# SIGTERM still ends it cleanly, removing what it started.
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC after SIGTERM"
[ "$(count_containers)" -eq 0 ] || fail "containers left behind"
echo ok
