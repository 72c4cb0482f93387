#!/usr/bin/env bash
# `devwatch serve PATHFILE`, harpoon's background mode, driven by the
# seed's own kind of script with `devwatch serve "$info"` in place of
# `harpoon container_manager "$info"`: it reads the port from the file,
# exports the URL, starts a container (host port 0) and tests against it,
# and curls /shutdown in its trap. Repeated starts give the same
# container; stop_container is 204 and removes it; an unknown name is
# NoSuchImage; after the script, no container, file or process is left.
. "$(dirname "$0")/lib.sh"
dw_init apiserve
SERVE_PID=
trap 'rc=$?; set +e; [ -z "$SERVE_PID" ] || kill -KILL $SERVE_PID 2>/dev/null || true; (exit $rc); dw_cleanup' EXIT
mkdir -p "$T/p/site"
echo hello >"$T/p/site/index.html"
printf 'FROM busybox:1.36\nCOPY site /www\nCMD ["httpd", "-f", "-p", "4545", "-h", "/www"]\n' >"$T/p/Dockerfile"
cat >"$T/p/devwatch.json" <<JSON
{ "name": "$P", "containers": { "web": { "build": { "context": "." } } } }
JSON

cat >"$T/suite.sh" <<'SH'
set -eu
info=$(mktemp)
devwatch serve "$info"
port=$(head -n 1 "$info")
export CONTAINER_MANAGER_URL="http://localhost:$port"
trap 'curl -s "$CONTAINER_MANAGER_URL/shutdown"' EXIT
echo "pid $(sed -n 2p "$info")" >&3
start() {
	curl -sf -X POST -H 'Content-Type: application/json' \
		-d '{"image": "web", "ports": [[0, 4545]]}' "$CONTAINER_MANAGER_URL/start_container"
}
first=$(start)
echo "first $first" >&3
second=$(start)
echo "second $second" >&3
web_port=$(echo "$first" | python3 -c 'import json, sys; print(json.load(sys.stdin)["ports"]["4545"])')
[ "$(curl -sf "http://localhost:$web_port/index.html")" = hello ]
curl -s -X POST -H 'Content-Type: application/json' -d '{"image": "nope", "ports": []}' \
	"$CONTAINER_MANAGER_URL/start_container" >&3
echo >&3
curl -s -o /dev/null -w 'version %{http_code} ' "$CONTAINER_MANAGER_URL/version" >&3
curl -sf "$CONTAINER_MANAGER_URL/version" >&3
echo >&3
echo "info $info" >&3
SH
cd "$T/p"
mkdir -p "$T/bin"
ln -s "$DEVWATCH" "$T/bin/devwatch"
PATH=$T/bin:$PATH bash "$T/suite.sh" 3>"$T/out" >"$T/suite.log" 2>&1 ||
	{ cat "$T/suite.log" "$T/out" >&2; fail "the suite failed"; }
cat "$T/out"
SERVE_PID=$(awk '/^pid /{print $2}' "$T/out")
info=$(awk '/^info /{print $2}' "$T/out")
python3 - "$T/out" <<'PY' || fail "the manager's answers are not harpoon's"
import json, sys
lines = dict(l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines() if " " in l)
first, second = json.loads(lines["first"]), json.loads(lines["second"])
assert first["just_created"] is True and second["just_created"] is False, (first, second)
assert first["container_id"] == second["container_id"], (first, second)
assert first["ports"] == second["ports"] and first["ports"]["4545"] > 0, first
err = json.loads(next(l for l in open(sys.argv[1]) if l.startswith('{"error"')))
assert err["error_code"] == "NoSuchImage" and err["error"]["wanted"] == "nope", err
assert err["error"]["available"] == ["web"], err
assert lines["version"].startswith("200 devwatch "), lines["version"]
PY
gone() { ! kill -0 "$SERVE_PID" 2>/dev/null; }
wait_for 30 gone || fail "serve did not exit after /shutdown"
[ "$(count_containers)" = 0 ] || fail "/shutdown left containers: $(count_containers)"
[ ! -e "$info" ] || fail "the info file is left"
rm -f "$info"

# stop_container in the foreground form, on a free port of our own.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$DEVWATCH" serve -f "$T/p/devwatch.json" ":$port" >"$T/fg.log" 2>&1 &
SERVE_PID=$!
wait_for 30 curl -sf "http://127.0.0.1:$port/version" || fail "the foreground form does not answer"
curl -sf -X POST -H 'Content-Type: application/json' -d '{"image": "web", "ports": [4545]}' \
	"http://127.0.0.1:$port/start_container" >/dev/null || fail "start failed"
[ "$(count_containers)" = 1 ] || fail "start made $(count_containers) containers"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d '{"image": "web"}' "http://127.0.0.1:$port/stop_container")
[ "$code" = 204 ] || fail "stop_container answered $code"
[ "$(count_containers)" = 0 ] || fail "stop_container left the container"
kill -TERM "$SERVE_PID"
rc=0
wait "$SERVE_PID" || rc=$?
SERVE_PID=
[ "$rc" = 0 ] || fail "serve exited $rc on SIGTERM: $(cat "$T/fg.log")"
echo PASS
