# Shared by the system tests: a scratch project per test, a unique project
# name, cleanup of containers and images even when the test fails, and
# waiting on conditions instead of sleeping.
#
#   dw_init NAME        make $T (scratch dir) and $P (unique project name);
#                       registers the cleanup trap
#   dw_copy_sample S    copy samples/S into $T/S, rename the project to $P
#                       and give every fixed host port 0; sets $PROJ
#   dw_up [ARGS]        start `devwatch up` in the background on $PROJ,
#                       output in $T/up.log, pid in $UP_PID
#   dw_wait_ready       wait until up printed "ready in" (fails if it exits)
#   wait_for SECS CMD   poll CMD every 50 ms until it succeeds
#   host_port C PORT    the host port of container C's PORT (from status)
#   fail MSG            print MSG and the up log, exit 1
#   dw_converge SECS C CDIR LDIR  wait until container C's CDIR equals LDIR
#                       file by file and mode by mode (treecmp.py)
set -euo pipefail

: "${DEVWATCH:?set DEVWATCH to the devwatch binary}"
: "${DEVWATCH_SRC:?set DEVWATCH_SRC to the source tree}"

UP_PID=
PROJ=

dw_cleanup() {
	local rc=$?
	if [ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null; then
		kill -KILL "$UP_PID" 2>/dev/null || true
	fi
	if [ -n "${P:-}" ]; then
		docker ps -aq --filter "label=dev.devwatch.project=$P" | xargs -r docker rm -f >/dev/null 2>&1 || true
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
	P="t$(basename "$T" | tr -dc 'a-z0-9' | tail -c 12)"
	trap dw_cleanup EXIT
}

fail() {
	echo "FAIL: $*" >&2
	if [ -f "${T:-}/up.log" ]; then
		echo "--- up.log" >&2
		tail -n 40 "$T/up.log" >&2
	fi
	exit 1
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

dw_copy_sample() {
	cp -r "$DEVWATCH_SRC/samples/$1" "$T/$1"
	rm -rf "$T/$1/.devwatch"
	python3 - "$T/$1/devwatch.json" "$P" <<'PY'
import re, sys
path, name = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r'"name": "[^"]*"', '"name": "%s"' % name, text, count=1)
text = re.sub(r'"host": [0-9]+', '"host": 0', text)
open(path, "w").write(text)
PY
	PROJ=$T/$1/devwatch.json
}

dw_up() {
	"$DEVWATCH" up -f "$PROJ" "$@" >"$T/up.log" 2>&1 &
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

count_containers() {
	env -u DOCKER_HOST docker ps -aq --filter "label=dev.devwatch.project=$P" | wc -l
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

# dw_converge SECS CONTAINER CDIR LDIR [ARGS]: wait until the container's
# synced folder equals the local tree; fail with every difference if it does
# not within SECS.
dw_converge() {
	local secs=$1
	shift
	if ! wait_for "$secs" treecmp "$@"; then
		treecmp "$@" >&2 || true
		fail "the container's $2 does not equal the local $3"
	fi
}
