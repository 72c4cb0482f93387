#!/usr/bin/env bash
# A container removed outside devwatch (docker rm -f) is reported, not
# taken for a crash; the next save that touches it creates it anew, catches
# it up, and the synced folder equals the local tree.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"
dw_init fault-removed
fault_project always
fault_up
id0=$(cid app)
echo v2 >"$T/proj/app/index.html"
dw_converge 30 "$C" /app "$T/proj/app"

docker rm -f "$C" >/dev/null
wait_for 30 up_log_has "app +$C was removed outside devwatch; the next save that touches it creates it again" ||
	fail "the removal was not reported"
up_alive || fail "devwatch up ended after the removal"

edit_tree
wait_for 60 up_log_has "app +$C is gone; creating it anew" || fail "the save did not recreate it"
dw_converge 60 "$C" /app "$T/proj/app"
[ "$(cid app)" != "$id0" ] || fail "still the old container"
if up_log_has "exited unexpectedly|stopped from outside"; then
	fail "the removal was reported as a crash"
fi
# SIGTERM still ends it cleanly, removing what it started.
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC after SIGTERM"
[ "$(count_containers)" -eq 0 ] || fail "containers left behind"
echo ok
