#!/usr/bin/env bash
# A failing run step's output on the API: the "update" event of the save
# that breaks the step has result "failed", the step's exit code, and in
# "output" what the step printed (its last line included); /api/status's
# last_update says the same. The next save, which fixes it, is "ok" and
# carries no output, so a later failure shows only its own lines.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apilib.sh"
dw_init apiout
SSE_PID=
trap 'rc=$?; set +e; kill $SSE_PID 2>/dev/null || true; (exit $rc); dw_cleanup' EXIT
mkdir -p "$T/p/src"
printf 'FROM busybox:1.36\nCOPY src /data\nCMD ["httpd", "-f", "-p", "80", "-h", "/data"]\n' >"$T/p/Dockerfile"
echo 0 >"$T/p/src/code"
cat >"$T/p/devwatch.json" <<JSON
{ "name": "$P", "containers": { "box": {
  "build": { "context": "." },
  "readiness": { "cmd": ["true"] },
  "live_update": [
    { "sync": { "from": "src", "to": "/data" } },
    { "run": { "cmd": "echo checking; for i in 1 2 3; do echo line \$i; done; c=\$(cat /data/code); [ \$c = 0 ] || { echo \"bad code \$c\" >&2; exit \$c; }" } } ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
api_wait

curl -sSN "$API/api/events?since=0&kinds=update" >"$T/events" 2>/dev/null &
SSE_PID=$!
echo 7 >"$T/p/src/code"
failed_seen() { grep -q '"result":"failed"' "$T/events"; }
wait_for 60 failed_seen || { cat "$T/events" >&2; fail "no failed update event"; }
grep '^data:' "$T/events" | grep '"result":"failed"' | head -1 | sed 's/^data: //' >"$T/failed.json"
python3 - "$T/failed.json" <<'PY' || fail "the failed update lacks the step's output: $(cat "$T/failed.json")"
import json, sys
f = json.load(open(sys.argv[1]))["fields"]
assert f["stages"]["steps"][0]["exit"] == 7, f["stages"]
out = f["output"].splitlines()
assert out[:4] == ["checking", "line 1", "line 2", "line 3"], out
assert "bad code 7" in out, out
PY
[ "$(api_get /api/status | json 'j["containers"][0]["last_update"]["output"]')" = "$(python3 -c '
import json, sys; print(json.load(open(sys.argv[1]))["fields"]["output"])' "$T/failed.json")" ] ||
	fail "status's last_update has another output: $(api_get /api/status)"

echo 0 >"$T/p/src/code"
ok_seen() { grep '^data:' "$T/events" | grep -q '"result":"ok"'; }
wait_for 60 ok_seen || { cat "$T/events" >&2; fail "no ok update after the fix"; }
! grep '^data:' "$T/events" | grep '"result":"ok"' | grep -q '"output"' ||
	fail "an ok update carries output"
echo 3 >"$T/p/src/code"
two_failed() { [ "$(grep -c '"result":"failed"' "$T/events")" -ge 2 ]; }
wait_for 60 two_failed || fail "no second failed update"
second=$(grep '^data:' "$T/events" | grep '"result":"failed"' | sed -n 2p | sed 's/^data: //')
echo "$second" | python3 -c '
import json, sys
out = json.load(sys.stdin)["fields"]["output"].splitlines()
assert out.count("checking") == 1 and "bad code 3" in out and "bad code 7" not in out, out
' || fail "the second failure's output is not its own: $second"
dw_converge 30 "$P-box-1" /data "$T/p/src"
dw_stop
echo PASS
