#!/usr/bin/env bash
# restart: always. A container that exits on its own is reported with its exit
# code and last log lines; the engine's restart of it is reported, it goes
# through readiness again, and later saves arrive (the synced folder equals
# the local tree).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"
dw_init fault-always
fault_project always
fault_up
id0=$(cid app)
echo v2 >"$T/proj/app/index.html"
dw_converge 30 "$C" /app "$T/proj/app"

crash
wait_for 30 up_log_has "app +exited unexpectedly with code 3 \(1 in 60 s\); the engine restarts it \(restart: always\)" ||
	fail "the crash was not reported"
wait_for 10 up_log_has "app \| fatal: got SIGUSR1" || fail "no log tail with the crash"
wait_for 30 up_log_has "app +restarted by the engine \(restart: always\); waiting for readiness" ||
	fail "the engine's restart was not reported"
wait_for 30 up_log_has "app +ready again" || fail "not ready again after the engine's restart"
[ "$(state '{{.RestartCount}}')" = 1 ] || fail "restart count $(state '{{.RestartCount}}'), expected 1"

edit_tree
dw_converge 60 "$C" /app "$T/proj/app"
[ "$(cid app)" = "$id0" ] || fail "not the same container"
up_alive || fail "devwatch up ended"
# SIGTERM still ends it cleanly, removing what it started.
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC after SIGTERM"
[ "$(count_containers)" -eq 0 ] || fail "containers left behind"
echo ok
