#!/usr/bin/env bash
# `devwatch attach` joins a tty/stdin container's terminal: what is typed
# reaches it, its output comes back, and ctrl-p ctrl-q detaches and leaves
# it running. A container without tty or stdin is refused (exit 2).
. "$(dirname "$0")/lib.sh"
dw_init attach
mkdir -p "$T/p"
cat >"$T/p/devwatch.json" <<JSON
{
  "name": "$P",
  "containers": {
    "shell": { "image": "busybox:1.36", "pull": "never", "tty": true, "stdin": true, "cmd": ["sh"] },
    "plain": { "image": "busybox:1.36", "pull": "never", "cmd": ["sleep", "3600"] }
  }
}
JSON
PROJ=$T/p/devwatch.json
dw_up --no-watch
dw_wait_ready
mkfifo "$T/keys"
script -qfec "$DEVWATCH attach -f $PROJ shell" "$T/typescript" <"$T/keys" >/dev/null &
SCRIPT_PID=$!
exec 3>"$T/keys"
printf 'echo attached-$((6*7)) > /tmp/typed; echo seen-$((6*7))\r' >&3
wait_for 30 grep -q seen-42 "$T/typescript" || fail "no answer through attach: $(cat -v "$T/typescript")"
[ "$(in_container shell cat /tmp/typed)" = attached-42 ] || fail "what was typed did not reach the container"
printf '\020\021' >&3
wait_for 30 sh -c "! kill -0 $SCRIPT_PID 2>/dev/null" || fail "ctrl-p ctrl-q did not detach"
exec 3>&-
wait "$SCRIPT_PID" || true
grep -q 'COMMAND_EXIT_CODE="0"' "$T/typescript" || fail "detach did not exit 0: $(cat -v "$T/typescript")"
grep -q "detached from $P-shell-1" "$T/typescript" || fail "no detach message"
[ "$(docker inspect -f '{{.State.Running}}' "$P-shell-1")" = true ] || fail "the container stopped on detach"
rc=0
"$DEVWATCH" attach -f "$PROJ" plain </dev/null >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] || fail "attach to a plain container exited $rc, expected 2"
grep -q 'neither "tty" nor "stdin"' "$T/err" || fail "no reason: $(cat "$T/err")"
dw_stop
echo ok
