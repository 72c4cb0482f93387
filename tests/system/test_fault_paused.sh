#!/usr/bin/env bash
# A save that cannot reach its container (here: the container is paused,
# and the engine refuses the exec the save needs) is held, not dropped: it
# goes again on a timer, with a growing wait, until it lands, even when
# nothing else is saved; the same once a session into it is open. Ends
# comparing the container with the tree.
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
# Paused again, with the session of the last save open now: the pause
# closes it, so the next save is held the same way instead of waiting in
# the session for the unpause without a word.
held=$(grep -c "what could not be synced goes again" "$T/up.log")
docker pause "$C" >/dev/null
echo "paused $RANDOM" >"$T/proj/app/index.html"
echo two >"$T/proj/app/new2.txt"
wait_for 30 sh -c "[ \$(grep -c 'what could not be synced goes again' '$T/up.log') -gt $held ]" ||
	fail "a save into the open session of a paused container was not held"
docker unpause "$C" >/dev/null
dw_converge 30 "$C" /app "$T/proj/app"
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC after SIGTERM"
echo ok
