#!/usr/bin/env bash
# A job that exits non-zero fails `up` with exit 1 and its last lines, and
# what depends on it is never created; up removes the rest and its network.
. "$(dirname "$0")/lib.sh"
dw_init jobfail
mkdir -p "$T/p"
cat >"$T/p/devwatch.json" <<JSON
{
  "name": "$P",
  "containers": {
    "db": { "image": "busybox:1.36", "pull": "never", "cmd": ["sleep", "3600"] },
    "migrate": { "image": "busybox:1.36", "pull": "never", "job": true,
                 "depends_on": { "db": "started" },
                 "cmd": "echo step one; echo 'schema broken at line 7' >&2; exit 3" },
    "api": { "image": "busybox:1.36", "pull": "never", "cmd": ["sleep", "3600"],
             "depends_on": { "migrate": "completed" } }
  }
}
JSON
PROJ=$T/p/devwatch.json
rc=0
timeout 120 "$DEVWATCH" up -f "$PROJ" >"$T/up.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "up exited $rc, expected 1"
up_log_has "migrate: job failed with exit code 3" || fail "up did not name the failed job and its code"
up_log_has "migrate \| schema broken at line 7" || fail "up did not show the job's last lines"
up_log_has "api +waits for migrate \(completed\)" || fail "up did not say api waits for migrate"
if up_log_has "api +(ready|starting)"; then fail "api started although migrate failed"; fi
if up_log_has "removed $P-api-1"; then fail "api was created although migrate failed"; fi
[ "$(count_containers)" -eq 0 ] || fail "containers left after the failure"
if docker network inspect "devwatch-$P" >/dev/null 2>&1; then fail "network left after the failure"; fi
echo ok
