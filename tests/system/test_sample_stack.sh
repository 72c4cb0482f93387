#!/usr/bin/env bash
# samples/stack walked through as its README says, as shipped (its own
# name and ports 8090 and 8082): start order, the page through the API's
# alias, the report dataset, an API edit that restarts only the API, a
# page edit, and Ctrl-C leaving no container or network behind.
. "$(dirname "$0")/lib.sh"
dw_init stack
P=stack # as shipped: cleanup finds the sample's own containers by its name
cp -r "$DEVWATCH_SRC/samples/stack" "$T/stack"
rm -rf "$T/stack/.devwatch" "$T/stack/reports"
PROJ=$T/stack/devwatch.json
dw_up
dw_wait_ready 900

started() { docker inspect -f '{{.State.StartedAt}}' "stack-$1-1"; }
finished() { docker inspect -f '{{.State.FinishedAt}}' "stack-$1-1"; }
# 1. Start order: the API started after the migration had finished, which
# started after the database; the report after the API.
[[ "$(started migrate)" > "$(started db)" ]] || fail "migrate started before db"
[[ "$(started api)" > "$(finished migrate)" ]] || fail "api started before migrate completed"
[[ "$(started report)" > "$(started api)" ]] || fail "report started before api"
[ "$(docker inspect -f '{{.State.ExitCode}}' stack-migrate-1)" = 0 ] || fail "migrate did not exit 0"

# 2. The page's data comes from the API by its alias; the API answers too.
curl -sf http://127.0.0.1:8090/ | grep -q "The stack sample" || fail "page not served on 8090"
curl -sf http://127.0.0.1:8090/cgi-bin/items | grep -q '"keyboard"' || fail "web could not reach the api as backend"
curl -sf http://127.0.0.1:8082/items | grep -q '"mouse"' || fail "api not served on 8082"

# 3. The report job's dataset.
wait_for 60 test -s "$T/stack/reports/latest/report.json" || fail "no report dataset"
grep -q '"count": 3' "$T/stack/reports/latest/report.json" || fail "report has the wrong content"

# 4. An API edit restarts the API only.
db=$(cid db)
web=$(cid web)
sed -i 's/MESSAGE = "items from redis"/MESSAGE = "edited live"/' "$T/stack/api/app.py"
wait_for 120 sh -c 'curl -sf http://127.0.0.1:8082/items | grep -q "edited live"' || fail "the API edit was not served"
dw_converge 30 stack-api-1 /app "$T/stack/api" --extra '__pycache__*'
[ "$(cid db)" = "$db" ] || fail "the API edit replaced the database"
[ "$(cid web)" = "$web" ] || fail "the API edit replaced the web container"
curl -sf http://127.0.0.1:8090/cgi-bin/items | grep -q "edited live" || fail "the page does not show the new message"

# 5. A page edit is synced.
sed -i 's/<h1>The stack sample<\/h1>/<h1>Edited page<\/h1>/' "$T/stack/web/site/index.html"
dw_converge 30 stack-web-1 /www "$T/stack/web/site"
curl -sf http://127.0.0.1:8090/ | grep -q "Edited page" || fail "the page edit was not served"

dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC on SIGTERM"
[ "$(count_containers)" -eq 0 ] || fail "containers left after SIGTERM"
[ "$(docker network ls -q --filter label=dev.devwatch.project=stack | wc -l)" -eq 0 ] || fail "network left"
echo ok
