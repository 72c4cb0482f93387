#!/usr/bin/env bash
# A devwatch killed with SIGKILL leaves its containers; `down` removes them
# by label, and says so.
. "$(dirname "$0")/lib.sh"
dw_init down
dw_copy_sample website
dw_up
dw_wait_ready
kill -KILL "$UP_PID"
wait "$UP_PID" 2>/dev/null || true
UP_PID=
[ "$(count_containers)" -eq 1 ] || fail "expected the container to survive SIGKILL"
"$DEVWATCH" down -f "$PROJ" >"$T/down.log" 2>&1 || fail "down failed: $(cat "$T/down.log")"
grep -q "removed $P-web-1" "$T/down.log" || fail "down did not say what it removed"
[ "$(count_containers)" -eq 0 ] || fail "down left containers"
"$DEVWATCH" down -f "$PROJ" | grep -q "no containers" || fail "second down"
echo ok
