#!/usr/bin/env bash
# A container that exits non-zero before it is ready fails `up` with exit 1
# and its last log lines, and nothing is left behind.
. "$(dirname "$0")/lib.sh"
dw_init crash
mkdir -p "$T/proj"
printf 'FROM busybox:1.36\n' >"$T/proj/Dockerfile"
cat >"$T/proj/devwatch.json" <<JSON
{ "name": "$P", "containers": { "app": {
  "build": { "context": "." },
  "cmd": "echo starting; echo 'fatal: cannot open config' >&2; exit 3",
  "ports": ["0:80"],
  "readiness": { "http": "/" } } } }
JSON
rc=0
"$DEVWATCH" up -f "$T/proj/devwatch.json" >"$T/up.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "up exited $rc, expected 1"
grep -q "exited with code 3 before it was ready" "$T/up.log" || fail "no exit reason"
grep -q "app | fatal: cannot open config" "$T/up.log" || fail "no log tail"
[ "$(count_containers)" -eq 0 ] || fail "crashed container left behind"
echo ok
