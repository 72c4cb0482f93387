#!/usr/bin/env bash
# On a terminal, a build shows as one updating line per container, not as
# every builder line: once the container is ready the screen holds no
# builder lines. A large sync is one progress line too, which gives way
# to the update's line (and the API sees it begin). When a rebuild fails,
# its whole output is printed. The
# screen is read from tmux, as a user would see it. Closing the terminal
# removes the containers.
. "$(dirname "$0")/lib.sh"
dw_init progress
tmux_cleanup() {
	local rc=$?
	set +e # under set -e, the (exit $rc) below would end the trap here
	tmux kill-session -t "$P" 2>/dev/null || true
	(exit $rc) # dw_cleanup exits with the status it is called after
	dw_cleanup
}
trap tmux_cleanup EXIT
mkdir -p "$T/proj/site"
echo one >"$T/proj/site/index.html"
cat >"$T/proj/Dockerfile" <<'DOCKERFILE'
FROM busybox:1.36
RUN echo building-step-one
RUN echo building-step-two
COPY site /www
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
DOCKERFILE
cat >"$T/proj/devwatch.json" <<JSON
{ "name": "$P", "containers": { "web": {
  "build": { "context": "." }, "ports": ["0:80"], "readiness": { "http": "/" },
  "live_update": [ { "sync": { "from": "site", "to": "/www" } } ] } } }
JSON
screen() { tmux capture-pane -p -J -S -200 -t "$P"; }
# grep reads it all: with -q an early exit would fail the pipe (pipefail).
screen_has() { screen | grep -E -- "$1" >/dev/null; }
tmux new-session -d -s "$P" -x 160 -y 50 \
	"DEVWATCH_SETTLE_MS=3 '$DEVWATCH' up -f '$T/proj/devwatch.json' 2>&1; sleep 600"
wait_for 120 screen_has "ready in" || { screen >&2; fail "up not ready on the terminal"; }
if screen_has "Step [0-9]+/|building-step"; then
	screen >&2
	fail "builder lines stayed on the screen after the build"
fi
screen_has "image devwatch/$P-web:[0-9a-f]+ built" || { screen >&2; fail "no image line"; }

# A large sync: 600 files at once.
mkdir -p "$T/bulk"
for i in $(seq 1 600); do head -c 2048 /dev/urandom | base64 >"$T/bulk/f$i.txt"; done
mv "$T/bulk" "$T/proj/site/bulk"
wait_for 120 screen_has "synced 600 files" || { screen >&2; fail "no update line for the large sync"; }
if screen | tail -n 5 | grep -E -- "syncing 600 files" >/dev/null; then
	screen >&2
	fail "the large sync's progress line stayed after its update"
fi
dw_converge 60 "$P-web-1" /www "$T/proj/site"
api=$(sed -n 1p "$T/proj/.devwatch/api")
curl -sSN -m 3 "http://127.0.0.1:$api/api/events?since=0&kinds=progress" >"$T/progress" 2>/dev/null || true
grep -E '"what":"sync".*"files":600|"files":600.*"what":"sync"' "$T/progress" >/dev/null ||
	{ cat "$T/progress" >&2; fail "the API saw no progress event for the large sync"; }

# A failing rebuild prints what the builder said.
sed -i 's/RUN echo building-step-two/RUN echo building-step-two \&\& exit 7/' "$T/proj/Dockerfile"
wait_for 120 screen_has "rebuild failed" || { screen >&2; fail "no failure line"; }
screen_has "building-step-two" || { screen >&2; fail "the failed build's output was not shown"; }

# Closing the terminal stops and removes the containers, as Ctrl-C does.
tmux kill-session -t "$P"
no_containers() { [ "$(count_containers)" -eq 0 ]; }
wait_for 60 no_containers || fail "closing the terminal left containers behind"
echo ok
