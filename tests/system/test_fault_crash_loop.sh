#!/usr/bin/env bash
# A crash loop (restart: always): five exits within 60 s are detected, the
# container's restart policy is turned off and it stays stopped, with one
# line saying so; the next save starts it again (policy restored), and the
# change arrives (the synced folder equals the local tree).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"
dw_init fault-loop
fault_project always
fault_up
echo v2 >"$T/proj/app/index.html"
dw_converge 30 "$C" /app "$T/proj/app"

# The next four starts fail at once: five exits in a row.
docker exec "$C" sh -c 'echo 0 >/tmp/n'
crash
wait_for 60 up_log_has "app +crash loop: exited 5 times in 60 s \(last exit code 3\); stopped it and turned its restarts off; the next save" ||
	fail "the crash loop was not reported"
stopped_for_good() {
	[ "$(state '{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}')" = "exited no" ]
}
wait_for 30 stopped_for_good || fail "not stopped with restarts off: $(state '{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}')"
up_alive || fail "devwatch up ended with the crash loop"
[ "$(grep -c 'crash loop' "$T/up.log")" = 1 ] || fail "the crash loop was reported more than once"

edit_tree
wait_for 30 up_log_has "app +starting it again for this change" || fail "the save did not wake it"
dw_converge 60 "$C" /app "$T/proj/app"
[ "$(state '{{.State.Running}} {{.HostConfig.RestartPolicy.Name}}')" = "true always" ] ||
	fail "after the save: $(state '{{.State.Running}} {{.HostConfig.RestartPolicy.Name}}')"
up_alive || fail "devwatch up ended"
# SIGTERM still ends it cleanly, removing what it started.
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC after SIGTERM"
[ "$(count_containers)" -eq 0 ] || fail "containers left behind"
echo ok
