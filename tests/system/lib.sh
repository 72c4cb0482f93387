# Shared by the system tests: a scratch project per test, a unique project
# name, cleanup of containers and images even when the test fails, and
# waiting on conditions instead of sleeping.
#
#   dw_init NAME        make $T (scratch dir) and $P (unique project name);
#                       registers the cleanup trap
#   dw_copy_sample S    copy samples/S into $T/S exactly as shipped (its own
#                       name and fixed host ports); $P becomes the sample's
#                       project name, so cleanup goes by it; sets $PROJ
#   dw_up [ARGS]        start `devwatch up` in the background on $PROJ,
#                       output in $T/up.log, pid in $UP_PID
#   dw_wait_ready       wait until up printed "ready in" (fails if it exits)
#   wait_for SECS CMD   poll CMD every 50 ms until it succeeds
#   host_port C PORT    the host port of container C's PORT (from status)
#   fail MSG            print MSG and the up log, exit 1
#   dw_converge SECS C CDIR LDIR  wait until container C's CDIR equals LDIR
#                       file by file and mode by mode (treecmp.py)
#   dw_gate             an HTTP gate a Dockerfile RUN step waits on ($GATE),
#                       to hold a build while the test edits; gate_reached,
#                       gate_open
set -euo pipefail

: "${DEVWATCH:?set DEVWATCH to the devwatch binary}"
: "${DEVWATCH_SRC:?set DEVWATCH_SRC to the source tree}"

UP_PID=
PROJ=
GATE_PID=

dw_cleanup() {
	local rc=$?
	if [ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null; then
		kill -KILL "$UP_PID" 2>/dev/null || true
		# Gone before its containers and network are listed below.
		wait "$UP_PID" 2>/dev/null || true
	fi
	[ -z "$GATE_PID" ] || kill "$GATE_PID" 2>/dev/null || true
	if [ -n "${P:-}" ]; then
		docker ps -aq --filter "label=dev.devwatch.project=$P" | xargs -r docker rm -f >/dev/null 2>&1 || true
		docker network ls -q --filter "label=dev.devwatch.project=$P" | xargs -r docker network rm >/dev/null 2>&1 || true
		# By tag, never by ID: an image built from a bare `FROM busybox:1.36`
		# has busybox's ID, and removing that ID would untag the base image.
		docker images --format '{{.Repository}}:{{.Tag}}' "devwatch/$P-*" |
			xargs -r docker rmi >/dev/null 2>&1 || true
	fi
	[ -n "${T:-}" ] && [ -z "${DW_KEEP:-}" ] && rm -rf "$T"
	exit $rc
}

dw_init() {
	T=$(mktemp -d "/tmp/dwtest-$1.XXXXXX")
	# The test's name and 8 random hex digits: mktemp's suffix, cut to
	# lowercase, kept too few random characters, and two runs of one test
	# (on one engine) could share a project name and each other's images.
	P="t$(printf '%s' "$1" | tr -dc 'a-z0-9' | head -c 8)$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
	trap dw_cleanup EXIT
}

# The test's own stderr, kept on fd 3: fail may run inside wait_for, whose
# output goes to /dev/null.
exec 3>&2

fail() {
	{
		echo "FAIL: $*"
		if [ -f "${T:-}/up.log" ]; then
			# Without httpd's access lines (one per readiness probe).
			echo "--- up.log"
			grep -Ev ': response:[0-9]+$' "$T/up.log" | tail -n 40
		fi
	} >&3
	exit 1
}

# up_alive: fail at once if `devwatch up` is gone (a crash must not look
# like a slow update).
up_alive() {
	[ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null && return 0
	local rc=0
	[ -n "$UP_PID" ] && { wait "$UP_PID" || rc=$?; }
	UP_PID=
	fail "devwatch up exited (status $rc) while it should be running"
}

wait_for() {
	local secs=$1 end
	shift
	end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}

# The samples are tested exactly as a user runs them: their own project name
# and their own host ports (a rewritten port hid a crash of the fixed-port
# rebuild, issue 10). Only $T/S/.devwatch (state, never shipped) is dropped.
# Before $P takes the sample's name, fail if that project already has
# containers (cleanup would remove them) or a host port is taken.
dw_copy_sample() {
	local file=$DEVWATCH_SRC/samples/$1/devwatch.json name port
	name=$(sed -n 's/^ *"name": "\([^"]*\)".*/\1/p' "$file" | head -1)
	[ -n "$name" ] || fail "no project name in $file"
	[ -z "$(docker ps -aq --filter "label=dev.devwatch.project=$name")" ] ||
		fail "project $name already has containers; not touching them"
	for port in $(grep -o '"host": [0-9]*' "$file" | grep -o '[0-9]*$'); do
		[ -z "$(ss -Htln "sport = :$port")" ] ||
			fail "host port $port (sample $1) is in use"
	done
	cp -r "$DEVWATCH_SRC/samples/$1" "$T/$1"
	rm -rf "$T/$1/.devwatch"
	P=$name
	PROJ=$T/$1/devwatch.json
}

# http_has URL TEXT: URL answers 2xx with a body containing TEXT.
http_has() {
	curl -sf "$1" | grep -qF -- "$2"
}

# The log is emptied here, not by the background job's redirection: that
# one runs after the fork, and a check right after dw_up could still read
# the previous up's log (its "ready in" line).
dw_up() {
	: >"$T/up.log"
	"$DEVWATCH" up -f "$PROJ" "$@" >>"$T/up.log" 2>&1 &
	UP_PID=$!
}

up_ready() {
	grep -q "ready in" "$T/up.log" && return 0
	kill -0 "$UP_PID" 2>/dev/null || fail "devwatch up exited before ready"
	return 1
}

dw_wait_ready() {
	wait_for "${1:-300}" up_ready || fail "devwatch up not ready in time"
}

# dw_stop: SIGTERM the up process and wait for it; sets UP_RC.
dw_stop() {
	kill -TERM "$UP_PID"
	UP_RC=0
	wait "$UP_PID" || UP_RC=$?
	UP_PID=
}

host_port() {
	"$DEVWATCH" status -f "$PROJ" --json | python3 -c '
import json, sys
for c in json.load(sys.stdin):
    if c["container"] == sys.argv[1] and c["replica"] == int(sys.argv[3]):
        print(c["ports"][sys.argv[2]])
' "$1" "$2" "${3:-1}"
}

# On the engine under test: DW_ENGINE_HOST (podman.sh sets it), else the
# default one; never a DOCKER_HOST a test sets for one command.
count_containers() {
	DOCKER_HOST=${DW_ENGINE_HOST:-} docker ps -aq --filter "label=dev.devwatch.project=$P" | wc -l
}

# cid NAME: the engine ID of the project's container NAME (replica 1).
cid() {
	docker inspect -f '{{.Id}}' "$P-$1-${2:-1}" 2>/dev/null
}

# in_container NAME CMD...: run CMD (argv, no shell) in the container.
in_container() {
	local name=$1
	shift
	docker exec "$P-$name-1" "$@"
}

# up_log_has PATTERN: the up log matches PATTERN (grep -E).
up_log_has() {
	grep -Eq -- "$1" "$T/up.log"
}

# treecmp CONTAINER CDIR LDIR [--ignore G] [--extra G]: the container's CDIR
# equals the local LDIR, file by file and mode by mode (tests/system/treecmp.py).
treecmp() {
	python3 "$DEVWATCH_SRC/tests/system/treecmp.py" "$@"
}

converged() {
	[ -z "$UP_PID" ] || up_alive
	treecmp "$@"
}

# dw_converge SECS CONTAINER CDIR LDIR [ARGS]: wait until the container's
# synced folder equals the local tree; fail with every difference if it does
# not within SECS.
dw_converge() {
	local secs=$1
	shift
	if ! wait_for "$secs" converged "$@"; then
		treecmp "$@" >&2 || true
		fail "the container's $2 does not equal the local $3"
	fi
}

# build_tool OUT: tests/system/tool.c as a static executable (musl-gcc when
# there, else static glibc), for images with no shell or tools.
build_tool() {
	local cc=cc
	command -v musl-gcc >/dev/null 2>&1 && cc=musl-gcc
	$cc -static -Os -o "$1" "$DEVWATCH_SRC/tests/system/tool.c"
}

# dw_gate: start an HTTP server on the host that a build step reaches at
# $GATE (through the default bridge's gateway). It answers 503 until
# gate_open, then 200; every request is counted in $T/gate.hits. A
# Dockerfile holds its build with
#   RUN until wget -q -O /dev/null "$GATE"; do sleep 0.2; done
# and the test knows the build got there when gate_reached succeeds.
dw_gate() {
	local gw br
	# The engine often leaves IPAM's Gateway empty: ask the bridge itself.
	br=$(docker network inspect bridge -f '{{index .Options "com.docker.network.bridge.name"}}')
	gw=$(ip -4 -o addr show "${br:-docker0}" | awk '{ sub("/.*", "", $4); print $4; exit }')
	[ -n "$gw" ] || fail "no IPv4 address on the engine's bridge ${br:-docker0}"
	python3 - "$T" >"$T/gate.port" 2>"$T/gate.log" <<'PY' &
import http.server, os, sys
base = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(os.path.join(base, "gate.hits"), "a") as f:
            f.write("hit\n")
        self.send_response(200 if os.path.exists(os.path.join(base, "gate.open")) else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("0.0.0.0", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
PY
	GATE_PID=$!
	wait_for 10 test -s "$T/gate.port" || fail "the gate server did not start"
	GATE=http://$gw:$(cat "$T/gate.port")/
}

gate_reached() {
	[ -s "$T/gate.hits" ]
}

gate_open() {
	touch "$T/gate.open"
}
