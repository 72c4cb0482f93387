# Shared by the control-API system tests (test_api_*.sh), on top of lib.sh.
#
#   api_project         a busybox project in $T/p: src/ synced to /data, a
#                       run step triggered by src/**, port 80 on host 0;
#                       sets $PROJ
#   api_wait            wait until .devwatch/api names the up process; sets
#                       $API_PORT and $API (the base URL)
#   api_get PATH        GET PATH, the body on stdout (fails on non-2xx)
#   api_post PATH       POST PATH with '{}' as JSON, the body on stdout
#   api_code ARGS...    curl ARGS against the API; prints the status code only
#   json EXPR           evaluate the python EXPR on the JSON on stdin (as j)

api_project() {
	mkdir -p "$T/p/src"
	printf 'FROM busybox:1.36\nCOPY src /data\nCMD ["httpd", "-f", "-vv", "-p", "80", "-h", "/data"]\n' >"$T/p/Dockerfile"
	echo one >"$T/p/src/a.txt"
	cat >"$T/p/devwatch.json" <<JSON
{ "name": "$P", "containers": { "box": {
  "build": { "context": "." },
  "ports": [{ "host": 0, "container": 80 }],
  "readiness": { "http": "/a.txt", "port": 80 },
  "live_update": [
    { "sync": { "from": "src", "to": "/data" } },
    { "run": { "cmd": "date +%s%N >>/tmp/runs", "trigger": ["src/**"] } } ] } } }
JSON
	PROJ=$T/p/devwatch.json
}

api_file_ok() {
	[ -f "$T/p/.devwatch/api" ] || return 1
	[ "$(sed -n 2p "$T/p/.devwatch/api")" = "$UP_PID" ]
}

api_wait() {
	wait_for 60 api_file_ok || fail ".devwatch/api does not name the up process"
	API_PORT=$(sed -n 1p "$T/p/.devwatch/api")
	API=http://127.0.0.1:$API_PORT
}

api_get() {
	curl -sSf --max-time 10 "$API$1"
}

api_post() {
	curl -sSf --max-time 60 -X POST -H 'Content-Type: application/json' -d '{}' "$API$1"
}

api_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"
}

json() {
	python3 -c 'import json, sys
j = json.load(sys.stdin)
r = eval(sys.argv[1])
print(r if not isinstance(r, (dict, list)) else json.dumps(r))' "$1"
}
