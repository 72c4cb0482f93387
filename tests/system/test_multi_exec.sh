#!/usr/bin/env bash
# `devwatch exec` runs a command in a running container: without a TTY
# stdin and stdout are plain streams and stderr stays apart; under a
# terminal (script) it gets a TTY. The exit code passes through either way,
# and -r picks a replica.
. "$(dirname "$0")/lib.sh"
dw_init exec
mkdir -p "$T/p"
cat >"$T/p/devwatch.json" <<JSON
{
  "name": "$P",
  "containers": {
    "box": { "image": "busybox:1.36", "pull": "never", "replicas": 2,
             "cmd": "hostname > /tmp/me; exec sleep 3600" }
  }
}
JSON
PROJ=$T/p/devwatch.json
dw_up --no-watch
dw_wait_ready
rc=0
printf 'line one\nline two\n' | "$DEVWATCH" exec -f "$PROJ" box -- sh -c 'cat; echo to-err >&2; [ -t 0 ] && echo tty || echo no-tty; exit 7' \
	>"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 7 ] || fail "exec exited $rc, expected 7"
[ "$(cat "$T/out")" = "$(printf 'line one\nline two\nno-tty')" ] || fail "exec stdout: $(cat "$T/out")"
[ "$(cat "$T/err")" = to-err ] || fail "exec stderr: $(cat "$T/err")"
[ "$("$DEVWATCH" exec -f "$PROJ" -r 2 box -- cat /tmp/me </dev/null)" = "$(docker inspect -f '{{.Config.Hostname}}' "$P-box-2")" ] ||
	fail "-r 2 did not reach replica 2"
# Under a terminal: a TTY, its size passed on, and the code still passes.
rc=0
# (An engine before API 1.42 takes the size just after the start, as the
# docker CLI's resize does: the command waits until it has arrived.)
script -qec "stty cols 97 rows 31; $DEVWATCH exec -f $PROJ box -- sh -c 'tty; i=0; until [ \"\$(stty size 2>/dev/null)\" = \"31 97\" ] || [ \$i -gt 100 ]; do i=\$((i+1)); usleep 20000; done; stty size; exit 5'" "$T/typescript" </dev/null >/dev/null || rc=$?
grep -q 'COMMAND_EXIT_CODE="5"' "$T/typescript" || fail "exec under a TTY did not exit 5: $(cat -v "$T/typescript")"
grep -Eq '^(\^@)?/dev/pts/' "$T/typescript" || fail "no TTY under script: $(cat -v "$T/typescript")"
grep -Eq '^(\^@)?31 97' "$T/typescript" || fail "the window size did not pass: $(cat -v "$T/typescript")"
rc=0
"$DEVWATCH" exec -f "$PROJ" box -- no-such-program </dev/null >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 126 ] || [ "$rc" -eq 127 ] || fail "a missing program exited $rc, expected 126 or 127"
rc=0
"$DEVWATCH" exec -f "$PROJ" nosuch -- true </dev/null 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "an unknown container exited $rc, expected 2"
dw_stop
echo ok
