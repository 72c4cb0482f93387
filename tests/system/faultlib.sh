# Shared by the fault tests (test_fault_*.sh), after lib.sh: a project whose
# container can be made to crash from outside, and checks on its state.
#
#   fault_project POLICY  make $T/proj: busybox, app/ synced to /app, restart
#                         POLICY; sets $PROJ and $C (the container's name)
#   crash                 make the running container exit with code 3 on its
#                         own (SIGUSR1 to its PID 1; no engine stop or kill)
#   state FIELD           docker inspect -f FIELD of $C
#   fault_up              dw_up, then wait until ready and watching
#   edit_tree             modify, add, delete and chmod files under app/
#
# The container's /run.sh counts its starts in /tmp/n (which lives with the
# container, not the image): while that count is 4 or less a start exits 3
# at once, so writing 0 there before a crash makes a crash loop of exactly
# five exits. A synced /app/mode holding "crash" makes every start exit 3
# (a bad config). Readiness is the file /tmp/up, made once a start survived.

fault_project() {
	mkdir -p "$T/proj/app/keep"
	cat >"$T/proj/run.sh" <<'SH'
rm -f /tmp/up
n=$(cat /tmp/n 2>/dev/null || echo 99)
n=$((n + 1))
echo "$n" >/tmp/n
echo "start $n"
if [ "$n" -le 4 ]; then
	echo "fatal: start $n fails" >&2
	exit 3
fi
if [ "$(cat /app/mode 2>/dev/null)" = crash ]; then
	echo "fatal: /app/mode says crash" >&2
	exit 3
fi
trap 'echo "fatal: got SIGUSR1" >&2; exit 3' USR1
touch /tmp/up
while :; do
	sleep 1 &
	wait $!
done
SH
	printf 'FROM busybox:1.36\nCOPY run.sh /run.sh\nCOPY app /app\n' >"$T/proj/Dockerfile"
	echo v1 >"$T/proj/app/index.html"
	echo old >"$T/proj/app/old.txt"
	echo keep >"$T/proj/app/keep/a.txt"
	cat >"$T/proj/devwatch.json" <<JSON
{ "name": "$P", "containers": { "app": {
  "build": { "context": "." },
  "cmd": ["sh", "/run.sh"],
  "restart": "$1",
  "readiness": { "cmd": ["cat", "/tmp/up"], "start_timeout": "30s" },
  "live_update": [ { "sync": { "from": "app", "to": "/app" } } ] } } }
JSON
	PROJ=$T/proj/devwatch.json
	C=$P-app-1
}

crash() {
	# The exec may go down with the container it crashes: its own exit
	# code says nothing; the waits that follow do.
	docker exec "$C" kill -USR1 1 || true
}

state() {
	docker inspect -f "$1" "$C"
}

edit_tree() {
	local a=$T/proj/app
	echo "v$RANDOM" >"$a/index.html"
	echo new >"$a/new.txt"
	rm "$a/old.txt"
	mkdir -p "$a/sub/deeper"
	printf '#!/bin/sh\necho hi\n' >"$a/sub/deeper/tool.sh"
	chmod 755 "$a/sub/deeper/tool.sh"
	chmod 600 "$a/keep/a.txt"
}

# fault_up: start `devwatch up` and wait until it watches the tree.
fault_up() {
	dw_up
	dw_wait_ready
	wait_for 60 up_log_has "watching [0-9]+ files" || fail "not watching"
}

# up_alive: devwatch up is still running.
up_alive() {
	kill -0 "$UP_PID" 2>/dev/null
}
