#!/usr/bin/env bash
# `devwatch run` runs a job, or a one-off copy of any container, in the
# foreground: its output streams here, ARGS replace its cmd, the exit code
# passes through, and the copy (and a network it made) is removed.
. "$(dirname "$0")/lib.sh"
dw_init run
mkdir -p "$T/p"
cat >"$T/p/devwatch.json" <<JSON
{
  "name": "$P",
  "containers": {
    "seed": { "image": "busybox:1.36", "pull": "never", "job": true,
              "env": { "WHO": "seed" }, "cmd": "echo seeding \$WHO; echo warn >&2; exit 4" },
    "web": { "image": "busybox:1.36", "pull": "never", "cmd": ["sleep", "3600"] }
  }
}
JSON
PROJ=$T/p/devwatch.json
rc=0
"$DEVWATCH" run -f "$PROJ" seed >"$T/out" 2>"$T/err" </dev/null || rc=$?
[ "$rc" -eq 4 ] || fail "run seed exited $rc, expected 4"
[ "$(cat "$T/out")" = "seeding seed" ] || fail "stdout was '$(cat "$T/out")'"
grep -qx warn "$T/err" || fail "stderr lacks the job's own: $(cat "$T/err")"
rc=0
"$DEVWATCH" run -f "$PROJ" web -- sh -c 'echo one-off; exit 42' >"$T/out" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 42 ] || fail "run web -- ... exited $rc, expected 42"
grep -qx one-off "$T/out" || fail "the one-off's output: $(cat "$T/out")"
rc=0
"$DEVWATCH" run -f "$PROJ" web -- true </dev/null || rc=$?
[ "$rc" -eq 0 ] || fail "run web -- true exited $rc"
rc=0
"$DEVWATCH" run -f "$PROJ" web -- no-such-program >"$T/out" 2>&1 </dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "a command that cannot run exited 0"
grep -q "no-such-program" "$T/out" || fail "no reason given: $(cat "$T/out")"
rc=0
"$DEVWATCH" run -f "$PROJ" nosuch >"$T/out" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "run of an unknown container exited $rc, expected 2"
# Beside a running up the network exists already (and is in use): run
# joins it and leaves it.
docker network create --label "dev.devwatch.project=$P" "devwatch-$P" >/dev/null
docker run -d --name "$P-holder" --label "dev.devwatch.project=$P" --network "devwatch-$P" busybox:1.36 sleep 3600 >/dev/null
rc=0
"$DEVWATCH" run -f "$PROJ" web -- sh -c 'exit 9' </dev/null >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 9 ] || fail "run beside an existing network exited $rc, expected 9"
docker network inspect "devwatch-$P" >/dev/null 2>&1 || fail "run removed a network in use"
docker rm -f "$P-holder" >/dev/null
docker network rm "devwatch-$P" >/dev/null
[ "$(count_containers)" -eq 0 ] || fail "run left containers: $(docker ps -a --filter "label=dev.devwatch.project=$P" --format "{{.Names}} {{.Status}}")"
if docker network inspect "devwatch-$P" >/dev/null 2>&1; then fail "run left its network"; fi
echo ok
