# Shared by the engine tests (test_engine_*.sh): a private dockerd that the
# test may stop, and one scenario run against whatever engine the
# environment names. Source after lib.sh and dw_init.
#
#   pd_start [DOCKERD ARGS...]  start a private dockerd: its own data-root,
#                       exec-root, pidfile, unix socket ($PD_SOCK), cgroup
#                       parent and bridge ($PD_BRIDGE on $PD_NET.1/24, with
#                       $PD_NET.2 as a second address; containers get
#                       $PD_NET.128/25), no iptables; loads
#                       busybox:1.36 into it. Stopped by the EXIT trap.
#   pd_netns            first, to run the daemon in a network namespace
#                       reached at $PD_REMOTE, as a remote machine
#   free_port           an unused TCP port on loopback
#   make_certs DIR IP   a CA, a server certificate for IP and localhost
#                       (DIR/server-*.pem) and a client certificate
#                       (DIR/client/{ca,cert,key}.pem), made with openssl
#   engine_scenario     on $DOCKER_HOST & co: up samples/website (copied
#                       unless $PROJ is set already), check the
#                       printed URL (expects $WANT_URL_HOST), save a page,
#                       compare the container's files with the tree, stop
#
# pd_start sets the EXIT trap: the cleanup runs before lib.sh's: it removes the project's containers on
# the private engine, stops the daemon, its bridge and its mounts.

PD_DIR=
PD_PID=
PD_BRIDGE=
PD_NS=
PD_IN=
EXTRA_CLEANUP=

engine_cleanup() {
	if [ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null; then
		kill -KILL "$UP_PID" 2>/dev/null || true
		wait "$UP_PID" 2>/dev/null || true
		UP_PID=
	fi
	if [ -n "$EXTRA_CLEANUP" ]; then
		eval "$EXTRA_CLEANUP" || true
	fi
	if [ -n "$PD_PID" ]; then
		timeout 20 docker -H "unix://$PD_SOCK" ps -aq |
			xargs -r timeout 20 docker -H "unix://$PD_SOCK" rm -f >/dev/null 2>&1 || true
		local cpid
		cpid=$(cat "$PD_DIR/exec/containerd/containerd.pid" 2>/dev/null || true)
		kill -TERM "$PD_PID" 2>/dev/null || true
		timeout 30 tail --pid="$PD_PID" -f /dev/null || kill -KILL "$PD_PID" 2>/dev/null || true
		# dockerd stops the containerd it started; if it was killed, we do.
		if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null; then
			kill -TERM "$cpid" 2>/dev/null || true
		fi
	fi
	if [ -n "$PD_DIR" ]; then
		grep -o " $PD_DIR[^ ]*" /proc/mounts | sort -r | xargs -r umount -l 2>/dev/null || true
		rm -rf "$PD_DIR"
	fi
	if [ -n "$PD_BRIDGE" ]; then
		$PD_IN ip link del "$PD_BRIDGE" 2>/dev/null || true
	fi
	if [ -n "$PD_NS" ]; then
		ip link del "$PD_NS-h" 2>/dev/null || true
		ip netns del "$PD_NS" 2>/dev/null || true
	fi
	unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_CONTEXT DOCKER_CONFIG
}

# docker on the shared engine, whatever the test exported.
shared_docker() {
	env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH \
		-u DOCKER_CONFIG docker -H unix:///var/run/docker.sock "$@"
}

# Extend lib.sh's EXIT trap (dw_init sets it; call after): ours first, then
# lib.sh's with the test's status. set +e, or `(exit 1)` would end the trap.
pd_trap() {
	trap 'rc=$?; set +e; engine_cleanup; (exit $rc); dw_cleanup' EXIT
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

make_certs() {
	local d=$1 ip=$2
	mkdir -p "$d/client"
	(
		cd "$d"
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=devwatch test CA" \
			-keyout ca-key.pem -out ca.pem
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$ip" -keyout server-key.pem -out server.csr
		printf 'subjectAltName=IP:%s,DNS:localhost\nextendedKeyUsage=serverAuth\n' "$ip" >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-days 2 -extfile server.ext -out server-cert.pem
		openssl req -newkey rsa:2048 -nodes -subj "/CN=client" -keyout client/key.pem -out client.csr
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-days 2 -extfile client.ext -out client/cert.pem
		cp ca.pem client/ca.pem
	) >"$d.log" 2>&1 || { cat "$d.log" >&2; fail "openssl could not make certificates"; }
}

# pd_bridge: the private daemon's folder and bridge, so that a test can
# name $PD_NET in the daemon's arguments; pd_start calls it when needed.
pd_bridge() {
	local n
	pd_trap
	PD_DIR=$(mktemp -d /tmp/dwd.XXXXXX)
	PD_SOCK=$PD_DIR/docker.sock
	PD_BRIDGE=dwe$(basename "$PD_DIR" | tr -dc 'a-z0-9' | tail -c 6)
	for n in $(shuf -i 2-254); do
		ip -4 addr | grep -q " 10.213.$n\." || break
	done
	PD_NET=10.213.$n
	$PD_IN ip link add "$PD_BRIDGE" type bridge
	$PD_IN ip addr add "$PD_NET.1/24" dev "$PD_BRIDGE"
	$PD_IN ip addr add "$PD_NET.2/32" dev "$PD_BRIDGE"
	$PD_IN ip link set "$PD_BRIDGE" up
}

# pd_netns: put the private daemon in a network namespace of its own, the
# way another machine would be: reached through a veth pair at
# $PD_REMOTE (this side is $PD_LOCAL), with its published ports there.
# Call before pd_bridge or pd_start.
pd_netns() {
	local n
	pd_trap
	PD_NS=dwn$(basename "$T" | tr -dc 'a-z0-9' | tail -c 8)
	for n in $(shuf -i 2-254); do
		ip -4 addr | grep -q " 10.216.$n\." || break
	done
	PD_LOCAL=10.216.$n.1
	PD_REMOTE=10.216.$n.2
	ip netns add "$PD_NS"
	ip link add "$PD_NS-h" type veth peer name "$PD_NS-c"
	ip link set "$PD_NS-c" netns "$PD_NS"
	ip addr add "$PD_LOCAL/30" dev "$PD_NS-h"
	ip link set "$PD_NS-h" up
	# nsenter, not `ip netns exec`: that one remounts /sys and hides the
	# cgroup mounts dockerd needs.
	PD_IN="nsenter --net=/run/netns/$PD_NS"
	$PD_IN ip addr add "$PD_REMOTE/30" dev "$PD_NS-c"
	$PD_IN ip link set "$PD_NS-c" up
	$PD_IN ip link set lo up
}

pd_start() {
	[ -n "$PD_DIR" ] || pd_bridge
	$PD_IN dockerd --data-root "$PD_DIR/data" --exec-root "$PD_DIR/exec" \
		--pidfile "$PD_DIR/docker.pid" -H "unix://$PD_SOCK" \
		--bridge "$PD_BRIDGE" --fixed-cidr "$PD_NET.128/25" \
		--iptables=false --ip-masq=false \
		--cgroup-parent "/$PD_BRIDGE" --log-level warn "$@" \
		>"$PD_DIR/dockerd.log" 2>&1 &
	PD_PID=$!
	wait_for 60 docker -H "unix://$PD_SOCK" version ||
		{ tail -20 "$PD_DIR/dockerd.log" >&2; fail "private dockerd did not start"; }
	docker save busybox:1.36 | docker -H "unix://$PD_SOCK" load >/dev/null ||
		fail "cannot load busybox:1.36 into the private dockerd"
}

# The sha256 of every file of the local site/ against the same path in the
# container's /www, through the engine in the environment.
site_matches() {
	local f want got
	while IFS= read -r f; do
		want=$(sha256sum <"$T/website/site/$f" | cut -d' ' -f1)
		got=$(docker exec "$P-web-1" sha256sum "/www/$f" | cut -d' ' -f1) || return 1
		[ "$want" = "$got" ] || return 1
	done < <(cd "$T/website/site" && find . -type f | sed 's|^\./||')
}

engine_scenario() {
	local url
	[ -n "$PROJ" ] || dw_copy_sample website
	dw_up
	dw_wait_ready 240
	up_log_has "warning" && [ -z "${WANT_WARNING:-}" ] && fail "unexpected warning"
	url=$(grep ' ready · ' "$T/up.log" | grep -o 'http://[^ ]*' | head -1)
	case "$url" in
	"http://$WANT_URL_HOST:"[0-9]*/) ;;
	*) fail "printed URL '$url' does not use the engine's host $WANT_URL_HOST" ;;
	esac
	curl -gsf "$url" | grep -q "Hello from devwatch" || fail "$url does not serve the site"
	wait_for 30 up_log_has "watching" || fail "watcher did not start"
	# Nothing of it on the shared engine.
	[ -z "$(shared_docker ps -aq --filter "label=dev.devwatch.project=$P")" ] ||
		fail "the project's container is on the shared engine"

	echo "<h1>saved through ${DOCKER_HOST:-${DOCKER_CONTEXT:-the context}} $P</h1>" >"$T/website/site/index.html"
	printf 'new file %s\n' "$P" >"$T/website/site/new.txt"
	wait_for 30 site_matches || fail "the container's /www does not match site/"
	curl -gsf "$url" | grep -q "saved through" || fail "$url does not serve the saved page"
	up_log_has "archive API" && fail "the hijacked exec did not work: fell back to the archive API"
	dw_stop
	[ "$UP_RC" = 0 ] || fail "up exited $UP_RC"
	[ -z "$(docker ps -aq --filter "label=dev.devwatch.project=$P")" ] ||
		fail "up left its container on the engine"
}
