#!/usr/bin/env bash
# Run steps: triggers that match run and triggers that do not stay quiet; a
# failing step marks the update failed and the next change retries; edits
# made during a slow step are applied right after it. Checked through files
# the steps leave in the container.
. "$(dirname "$0")/lib.sh"
dw_init steps
mkdir -p "$T/p/src/pages" "$T/p/src/assets"
cd "$T/p"
printf 'FROM busybox:1.36\nCOPY src /data\nCMD ["sleep", "86400"]\n' >Dockerfile
echo ok >src/flag.txt
echo a >src/assets/a.css
echo p >src/pages/p.html
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "box": {
  "build": { "context": "." },
  "workdir": "/data",
  "env": { "STEP_ENV": "from-env" },
  "live_update": [
    { "sync": { "from": "src", "to": "/data" } },
    { "run": { "cmd": "grep -q ok flag.txt && cat pages/*.html > built.txt && echo \$STEP_ENV > env.txt", "trigger": ["src/pages/**", "src/flag.txt"] } },
    { "run": { "cmd": "if [ -e slow.txt ]; then sleep 2; fi; date +%s%N >> slow-runs.txt", "trigger": ["src/slow.txt"] } }
  ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
file_is() { [ "$(in_container box cat "$1" 2>/dev/null)" = "$2" ]; }
exists() { in_container box test -e "$1"; }

# A matching trigger runs the step, in the workdir, with the container's env.
echo p2 >src/pages/p.html
wait_for 30 file_is /data/built.txt p2 || fail "triggered step did not run"
file_is /data/env.txt from-env || fail "step lacks the container's env"

# A non-matching trigger does not run it (the asset syncs; built.txt stays).
in_container box rm /data/built.txt
echo a2 >src/assets/a.css
wait_for 30 file_is /data/assets/a.css a2 || fail "asset not synced"
! exists /data/built.txt || fail "a step ran for a path its trigger does not match"

# A failing step: the file is synced, the step fails, nothing further runs.
echo fail >src/flag.txt
wait_for 30 file_is /data/flag.txt fail || fail "flag not synced"
wait_for 30 up_log_has "update failed: run" || fail "failure not reported"
! exists /data/built.txt || fail "failed step produced output"
[ "$(cid box)" != "" ] || fail "container gone after a failed step"
# The next change retries, and succeeds.
echo ok >src/flag.txt
wait_for 30 file_is /data/built.txt p2 || fail "retry after a failed step did not run"

# Edits during a slow step are applied right after it.
echo go >src/slow.txt
wait_for 30 exists /data/slow.txt || fail "slow trigger not synced"
echo during >src/pages/p.html
echo during2 >src/assets/late.css
wait_for 30 file_is /data/assets/late.css during2 || fail "edit during a slow step lost"
wait_for 30 file_is /data/built.txt during || fail "step for an edit during a slow step did not run"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
