#!/usr/bin/env bash
# samples/stack walked through as its README says: start order, the web
# front end reaching the API by alias and the API reading what the seed job
# stored, the report job's dataset, and an API edit that restarts the API
# alone (db and web untouched, no job rerun). Ends comparing the API
# container's /app with the local tree.
. "$(dirname "$0")/lib.sh"
dw_init stack
dw_copy_sample stack
S=$T/stack
dw_up
dw_wait_ready 900
# The order the README gives: db ready, then seed; seed completed, then
# api; api ready, then web. (What waits says so once its image is there.)
line_of() { grep -nE -m1 -- "$1" "$T/up.log" | cut -d: -f1; }
before() {
	local a b
	a=$(line_of "$1") b=$(line_of "$2")
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] || fail "expected '$1' before '$2' in the up log"
}
before "db +ready" "seed +\\| seeded 3 items"
before "seed +completed \\(exit 0\\)" "api +\\| api listening"
before "api +ready" "web +ready"
# An image built after what it waits for was reached waits for nothing
# and says nothing (a slow build on a loaded machine).
if up_log_has "api +waits for"; then
	up_log_has "api +starting: db ready, seed completed" || fail "up did not say why api starts"
else
	before "seed +completed \\(exit 0\\)" "api +image devwatch/"
fi
up_log_has "seed +\| seeded 3 items" || fail "the seed job's output is missing"
port=$(host_port web 80)
answer() { curl -fsS "http://localhost:$port/cgi-bin/api"; }
got=$(answer) || fail "web did not answer"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["greeting"]=="hello from the api" and d["items"]==["tea","coffee","cocoa"], d' "$got" ||
	fail "unexpected answer: $got"
# 1. The report's dataset.
wait_for 60 test -f "$S/reports/report.json" || fail "no reports/report.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["items"]==["tea","coffee","cocoa"] and d["schema"]=="1", d' "$S/reports/report.json" ||
	fail "report.json: $(cat "$S/reports/report.json")"
up_log_has "report +stored /out in reports · 1 file" || fail "no line for the stored report"
# 2. An API edit restarts the API only.
db_id=$(cid db) web_id=$(cid web) api_id=$(cid api)
db_started=$(docker inspect -f '{{.State.StartedAt}}' "$db_id")
web_started=$(docker inspect -f '{{.State.StartedAt}}' "$web_id")
api_started=$(docker inspect -f '{{.State.StartedAt}}' "$api_id")
sed -i 's/"visits": db.call("INCR", "visits")}/"visits": db.call("INCR", "visits"), "version": 2}/' "$S/api/app/server.py"
grep -q '"version": 2' "$S/api/app/server.py" || fail "the edit did not apply to the sample"
new_answer() { answer | grep -q '"version": 2'; }
wait_for 120 new_answer || fail "the API edit did not show: $(answer)"
[ "$(cid api)" = "$api_id" ] || fail "the API was replaced instead of restarted"
[ "$(docker inspect -f '{{.State.StartedAt}}' "$api_id")" != "$api_started" ] || fail "the API did not restart"
[ "$(cid db)" = "$db_id" ] && [ "$(docker inspect -f '{{.State.StartedAt}}' "$db_id")" = "$db_started" ] ||
	fail "db was restarted or replaced"
[ "$(cid web)" = "$web_id" ] && [ "$(docker inspect -f '{{.State.StartedAt}}' "$web_id")" = "$web_started" ] ||
	fail "web was restarted or replaced"
[ "$(grep -c 'seeded 3 items' "$T/up.log")" -eq 1 ] || fail "the seed job ran again"
# The API container's /app equals the local tree.
rm -rf "$T/app-copy" && mkdir "$T/app-copy"
docker cp "$api_id:/app/." "$T/app-copy/"
diff -r "$S/api/app" "$T/app-copy" || fail "the API's /app differs from api/app"
# 3. A page edit: served at once, nothing restarts.
echo '<p>edited</p>' >>"$S/web/site/index.html"
edited() { curl -fsS "http://localhost:$port/" | grep -q edited; }
wait_for 60 edited || fail "the page edit did not show"
[ "$(docker inspect -f '{{.State.StartedAt}}' "$web_id")" = "$web_started" ] || fail "web restarted for a page edit"
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC"
[ "$(count_containers)" -eq 0 ] || fail "containers left"
if docker network inspect "devwatch-$P" >/dev/null 2>&1; then fail "network left"; fi
# The stack's images by tag (lib.sh removes devwatch/$P-*).
echo ok
