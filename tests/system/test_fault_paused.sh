#!/usr/bin/env bash
# A save that cannot reach its container (here: the container is paused,
# and the engine refuses the exec the save needs) is held, not dropped: it
# goes again on a timer, with a growing wait, until it lands, even when
# nothing else is saved. Ends comparing the container with the tree.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"
dw_init fault-paused
trap 'rc=$?; set +e; docker unpause "$C" >/dev/null 2>&1; (exit $rc); dw_cleanup' EXIT
fault_project never
fault_up
docker pause "$C" >/dev/null
edit_tree
wait_for 30 up_log_has "app +what could not be synced goes again in [0-9.]+ s, or with the next change" ||
	fail "the refused save was not held for a retry"
up_alive || fail "devwatch up ended on a refused save"
# Held several times over, then the container runs again: no further save.
wait_for 30 up_log_has "goes again in 2 s" || fail "the retries do not back off"
docker unpause "$C" >/dev/null
dw_converge 30 "$C" /app "$T/proj/app"
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC after SIGTERM"
echo ok
