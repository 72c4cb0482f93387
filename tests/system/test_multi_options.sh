#!/usr/bin/env bash
# Section 10's run options reach the real container: resources as request
# and limit, stop_signal and stop_grace, init, env_file under env. Each
# container's log file holds what it printed.
. "$(dirname "$0")/lib.sh"
dw_init mopts
mkdir -p "$T/p"
printf '# settings\nFROM_FILE=file\nSHADOWED=file\nexport QUOTED="a b"\n' >"$T/p/app.env"
cat >"$T/p/devwatch.json" <<JSON
{
  "name": "$P",
  "containers": {
    "app": { "image": "busybox:1.36", "pull": "never",
             "resources": { "cpus": { "request": 0.25, "limit": 0.5 },
                            "memory": { "request": "32m", "limit": "64m" } },
             "stop_signal": "SIGINT", "stop_grace": "2s", "init": true,
             "env_file": "app.env", "env": { "SHADOWED": "env" },
             "cmd": "echo \"env: \$FROM_FILE \$SHADOWED \$QUOTED\"; exec sleep 3600" }
  }
}
JSON
PROJ=$T/p/devwatch.json
dw_up --no-watch
dw_wait_ready
hc() { docker inspect -f "{{.HostConfig.$1}}" "$P-app-1"; }
[ "$(hc NanoCpus)" = 500000000 ] || fail "cpus limit: $(hc NanoCpus)"
[ "$(hc CpuShares)" = 256 ] || fail "cpus request: $(hc CpuShares)"
[ "$(hc Memory)" = $((64 << 20)) ] || fail "memory limit: $(hc Memory)"
[ "$(hc MemoryReservation)" = $((32 << 20)) ] || fail "memory request: $(hc MemoryReservation)"
[ "$(hc Init)" = true ] || fail "init: $(hc Init)"
[ "$(docker inspect -f '{{.Config.StopSignal}}' "$P-app-1")" = SIGINT ] || fail "stop_signal"
[ "$(docker inspect -f '{{.Config.StopTimeout}}' "$P-app-1")" = 2 ] || fail "stop_grace"
# With init, PID 1 is the engine's init and the command runs under it.
[ "$(in_container app cat /proc/1/comm)" != sleep ] || fail "the command is PID 1 despite init"
wait_for 30 up_log_has "app +\| env: file env a b" || fail "env_file and env not merged: $(cat "$T/up.log")"
grep -qx "env: file env a b" "$T/p/.devwatch/logs/app.log" ||
	fail "the log file lacks the line: $(cat "$T/p/.devwatch/logs/app.log" 2>&1)"
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC"
echo ok
