#!/usr/bin/env bash
# On a terminal, a build shows as one updating line per container, not as
# every builder line: once the container is ready the screen holds no
# builder lines. When a rebuild fails, its whole output is printed. The
# screen is read from tmux, as a user would see it. Closing the terminal
# removes the containers.
. "$(dirname "$0")/lib.sh"
dw_init progress
tmux_cleanup() {
	local rc=$?
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

# A failing rebuild prints what the builder said.
sed -i 's/RUN echo building-step-two/RUN echo building-step-two \&\& exit 7/' "$T/proj/Dockerfile"
wait_for 120 screen_has "rebuild failed" || { screen >&2; fail "no failure line"; }
screen_has "building-step-two" || { screen >&2; fail "the failed build's output was not shown"; }

# Closing the terminal stops and removes the containers, as Ctrl-C does.
tmux kill-session -t "$P"
no_containers() { [ "$(count_containers)" -eq 0 ]; }
wait_for 60 no_containers || fail "closing the terminal left containers behind"
echo ok
