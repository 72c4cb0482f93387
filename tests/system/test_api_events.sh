#!/usr/bin/env bash
# The control API of `up`: .devwatch/api names the session while it runs
# and is gone after; /api/status gives the container, its replica's engine
# ID and URL; an edit arrives on /api/events as an "update" event with its
# file and per-stage times, the container's files equal the local tree,
# and /api/status then carries that update.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apilib.sh"
dw_init apiev
SSE_PID=
trap 'rc=$?; set +e; kill $SSE_PID 2>/dev/null || true; (exit $rc); dw_cleanup' EXIT
api_project
dw_up
dw_wait_ready
api_wait

st=$(api_get /api/status)
[ "$(echo "$st" | json 'j["project"]')" = "$P" ] || fail "status names another project: $st"
[ "$(echo "$st" | json 'j["containers"][0]["name"]')" = box ] || fail "no box in $st"
[ "$(echo "$st" | json 'j["containers"][0]["state"]')" = ready ] || fail "box not ready: $st"
[ "$(echo "$st" | json 'j["containers"][0]["replicas"][0]["id"]')" = "$(cid box)" ] ||
	fail "status gives another container ID: $st"
url=$(echo "$st" | json 'j["containers"][0]["urls"][0]')
[ "$(curl -sSf "${url}a.txt")" = one ] || fail "the status URL $url does not serve the container"

# Subscribe (since=0 replays the history: no race with the edit), edit.
curl -sSN "$API/api/events?since=0&kinds=update" >"$T/events" 2>/dev/null &
SSE_PID=$!
echo two >"$T/p/src/a.txt"
echo new >"$T/p/src/b.txt"
update_seen() { grep -q '"kind":"update"' "$T/events" && grep -q 'b.txt' "$T/events"; }
wait_for 60 update_seen || { cat "$T/events" >&2; fail "no update event for the edit"; }
ev=$(grep '^data:' "$T/events" | grep 'b.txt' | head -1 | sed 's/^data: //')
echo "event: $ev"
echo "$ev" | python3 -c '
import json, sys
e = json.load(sys.stdin)
f = e["fields"]
assert e["container"] == "box", e
assert "src/b.txt" in f["files"] or "b.txt" in " ".join(f["files"]), f["files"]
assert f["result"] == "ok", f
s = f["stages"]
for k in ("settle", "hash", "transfer"):
    assert isinstance(s[k], (int, float)) and s[k] >= 0, (k, s)
assert s["settle"] > 0, s
assert len(s["steps"]) == 1 and s["steps"][0]["ms"] > 0 and s["steps"][0]["exit"] == 0, s
assert f["total_ms"] >= s["settle"] + s["transfer"], f
' || fail "the update event lacks its stages: $ev"
dw_converge 30 "$P-box-1" /data "$T/p/src"
[ "$(api_get /api/status | json 'j["containers"][0]["last_update"]["result"]')" = ok ] ||
	fail "status has no last update"

dw_stop
[ "$UP_RC" = 0 ] || fail "up exited $UP_RC"
[ ! -e "$T/p/.devwatch/api" ] || fail ".devwatch/api is left after up ended"
echo PASS
