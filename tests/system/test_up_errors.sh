#!/usr/bin/env bash
# Bad project files exit 2 with file:line:column and start nothing; a missing
# Dockerfile or context is named; an unreachable engine exits 1 naming the
# address it tried.
. "$(dirname "$0")/lib.sh"
dw_init errors
cd "$T"
expect() { # expect CODE PATTERN -- command...
	local code=$1 pat=$2 rc=0
	shift 3
	"$@" >out.txt 2>&1 || rc=$?
	[ "$rc" -eq "$code" ] || fail "'$*' exited $rc, expected $code: $(cat out.txt)"
	grep -Eq -- "$pat" out.txt || fail "'$*' output lacks /$pat/: $(cat out.txt)"
	[ "$(count_containers)" -eq 0 ] || fail "'$*' started a container"
}
mkdir web
printf 'FROM busybox:1.36\n' >web/Dockerfile
printf '{\n  "name": "%s",\n  "containers": {\n    "web": { "build": "web", }\n  }\n}\n' "$P" >malformed.json
expect 2 'malformed.json:4:30: trailing comma' -- "$DEVWATCH" up -f malformed.json
printf '{\n  "name": "%s",\n  "containers": {\n    "web": { "build": "web", "prots": ["80"] }\n  }\n}\n' "$P" >typo.json
expect 2 "typo.json:4:30: unknown key 'prots'.*did you mean 'ports'" -- "$DEVWATCH" up -f typo.json
printf '{ "name": "%s", "containers": { "web": { "build": { "context": "web", "dockerfile": "Nope.Dockerfile" } } } }\n' "$P" >nodf.json
expect 2 'nodf.json:1:[0-9]+: Dockerfile .*/web/Nope.Dockerfile does not exist' -- "$DEVWATCH" up -f nodf.json
printf '{ "name": "%s", "containers": { "web": { "build": { "context": "missing" } } } }\n' "$P" >noctx.json
expect 2 "noctx.json:1:[0-9]+: build context 'missing' does not exist" -- "$DEVWATCH" up -f noctx.json
printf '{ "name": "%s", "containers": { "web": { "image": "busybox:1.36", "replicas": "two" } } }\n' "$P" >type.json
expect 2 "type.json:1:[0-9]+: 'replicas' is a string; expected an integer" -- "$DEVWATCH" up -f type.json
printf '{ "name": "%s", "containers": { "web": { "image": "busybox:1.36" } } }\n' "$P" >ok.json
DOCKER_HOST=unix:///nonexistent/docker.sock expect 1 'cannot reach the Docker engine at unix:///nonexistent/docker.sock' -- "$DEVWATCH" up -f ok.json
DOCKER_HOST=tcp://127.0.0.1:1 expect 1 'cannot reach the Docker engine at tcp://127.0.0.1:1' -- "$DEVWATCH" status -f ok.json
expect 2 'devwatch up: unknown option' -- "$DEVWATCH" up --bogus
echo ok
