#!/usr/bin/env bash
# The engine restarted mid-session. On a private dockerd of its own (never
# the shared one): `up` runs against it, the daemon is stopped (SIGTERM, and
# its pid gone), files are edited, added, deleted and chmodded while it is
# down, and the daemon is started again. devwatch says once that it lost the
# engine, keeps watching, reconnects, brings the container back, and the
# synced folder then equals the local tree, file by file and mode by mode.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"
dw_init fault-engine

# The private daemon: its own data-root, exec-root, pidfile, socket and
# bridge (a short path: containerd's socket lives under the exec-root).
D=$(mktemp -d /tmp/dwfe.XXXXXX)
BR=dwf$(basename "$D" | tr -dc 'a-z0-9' | tail -c 8)
SOCK=$D/sock
DH=unix://$SOCK
DPID=
for n in $(shuf -i 10-250 -n 40); do
	ip -4 route | grep -q "^10\.213\.$n\." || { NET=10.213.$n; break; }
done
[ -n "${NET:-}" ] || fail "no free 10.213.N.0/24 for the private bridge"

engine_stop() {
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID" 2>/dev/null || true
	wait_for 60 bash -c "! kill -0 $DPID" || kill -KILL "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
	DPID=
}

cleanup_engine() {
	local rc=$?
	set +e # under set -e, the (exit $rc) below would end the trap there
	if [ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null; then
		kill -KILL "$UP_PID" 2>/dev/null || true
	fi
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		docker -H "$DH" ps -aq | xargs -r docker -H "$DH" rm -f >/dev/null 2>&1 || true
	fi
	engine_stop
	# Whatever a killed daemon left mounted under its roots.
	grep -o " $D/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	ip link del "$BR" 2>/dev/null || true
	rm -rf "$D"
	(exit $rc)
	dw_cleanup
}
trap cleanup_engine EXIT

ip link add "$BR" type bridge
ip addr add "$NET.1/24" dev "$BR"
ip link set "$BR" up

engine_start() {
	dockerd --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/pid" \
		-H "$DH" --bridge "$BR" --iptables=false --ip-masq=false \
		--userland-proxy=false >>"$D/dockerd.log" 2>&1 &
	DPID=$!
	wait_for 60 docker -H "$DH" version || { tail -20 "$D/dockerd.log" >&2; fail "the private dockerd did not start"; }
}

engine_start
docker save busybox:1.36 | docker -H "$DH" load >/dev/null

fault_project never
DOCKER_HOST=$DH "$DEVWATCH" up -f "$PROJ" >"$T/up.log" 2>&1 &
UP_PID=$!
dw_wait_ready
wait_for 60 up_log_has "watching [0-9]+ files" || fail "not watching"
pcmp() { DOCKER_HOST=$DH treecmp "$@"; }
pconverge() {
	if ! wait_for "$1" pcmp "$C" /app "$T/proj/app"; then
		pcmp "$C" /app "$T/proj/app" >&2 || true
		fail "the container's /app does not equal the local tree"
	fi
}
echo v2 >"$T/proj/app/index.html"
pconverge 30

engine_stop
wait_for 30 up_log_has "lost the engine at $DH at [0-9:]+ \(.*\); still watching, reconnecting" ||
	fail "the lost engine was not reported"
edit_tree
echo "while down" >"$T/proj/app/keep/b.txt"
up_alive || fail "devwatch up ended without the engine"

engine_start
wait_for 60 up_log_has "the engine is back at $DH after [0-9.]+ s" || fail "the engine's return was not reported"
wait_for 60 up_log_has "app +recovered: ready and caught up" || fail "the container was not recovered"
pconverge 60
# Saves still arrive afterwards.
echo v4 >"$T/proj/app/index.html"
rm "$T/proj/app/keep/b.txt"
pconverge 30
[ "$(grep -c 'lost the engine' "$T/up.log")" = 1 ] || fail "the lost engine was reported more than once"
if up_log_has "exited unexpectedly|stopped from outside|restarted by the engine"; then
	fail "the engine's own restart was reported as a crash"
fi
up_alive || fail "devwatch up ended"
# SIGTERM still ends it cleanly, removing what it started.
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC after SIGTERM"
[ "$(docker -H "$DH" ps -aq | wc -l)" -eq 0 ] || fail "containers left behind"
echo ok
