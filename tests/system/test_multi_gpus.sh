#!/usr/bin/env bash
# "gpus" reaches the real engine in the create body as DeviceRequests:
# "all" as Count -1 with the gpu capability, device IDs with their own
# capabilities. This machine has no GPU runtime, so the engine then
# refuses to start the container: up fails with the engine's own words
# and exit code 1, and --keep leaves the created container to inspect.
. "$(dirname "$0")/lib.sh"
dw_init mgpus
mkdir -p "$T/p"

# gpus_case NAME GPUS: up with one container asking for GPUS; it must fail
# with the engine's refusal, keeping the container created.
gpus_case() {
	cat >"$T/p/devwatch.json" <<JSON
{ "name": "$P", "containers": { "$1": { "image": "busybox:1.36", "pull": "never",
  "gpus": $2, "cmd": "exec sleep 3600" } } }
JSON
	PROJ=$T/p/devwatch.json
	local rc=0
	timeout 120 "$DEVWATCH" up -f "$PROJ" --keep >"$T/up.log" 2>&1 || rc=$?
	[ "$rc" = 1 ] || { cat "$T/up.log" >&2; fail "$1: up exited $rc, not 1"; }
	up_log_has "could not select device driver" ||
		{ cat "$T/up.log" >&2; fail "$1: the engine's refusal is not in the output"; }
	docker inspect -f '{{json .HostConfig.DeviceRequests}}' "$P-$1-1" >"$T/dr.json" ||
		fail "$1: --keep did not keep the created container"
	echo "$1: $(cat "$T/dr.json")"
}

gpus_case all '"all"'
python3 - "$T/dr.json" <<'PY' || fail "gpus \"all\": wrong DeviceRequests"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == 1 and d[0]["Count"] == -1 and d[0]["Capabilities"] == [["gpu"]], d
PY
docker rm -f "$P-all-1" >/dev/null

gpus_case ids '{"device_ids": ["0", "3"], "capabilities": ["gpu", "utility"]}'
python3 - "$T/dr.json" <<'PY' || fail "gpus device_ids: wrong DeviceRequests"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == 1 and d[0]["DeviceIDs"] == ["0", "3"], d
assert d[0]["Capabilities"] == [["gpu", "utility"]], d
assert d[0]["Count"] == 0, d
PY
docker rm -f "$P-ids-1" >/dev/null
echo ok
