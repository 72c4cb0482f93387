# A real multi-node Docker Swarm on this machine, for the swarm test and
# benchmark: 3 docker-in-docker nodes on the shared engine, each a
# container of an image built FROM debian:bookworm with Debian's docker.io
# (and docker-registry, which node 1 serves as the swarm's registry).
#
# Source it (after lib.sh, or alone with `set -euo pipefail`), or run
# `bash swarmlib.sh run CMD [ARGS...]` to bring a swarm up, run CMD with
# the variables below in its environment, and tear it down.
#
#   swarm_up [N]        build the node image, start N nodes (default 3),
#                       init the swarm on node 1 and join the others as
#                       workers, start the registry, load busybox:1.36
#                       into every node. Sets:
#     SWARM_ID            the unique part of every name below
#     SWARM_NODES         the nodes' hostnames, in order (node 1 first)
#     SWARM_ADDRS         their addresses, in the same order
#     SWARM_MANAGER       tcp://ADDR:2375 of node 1, the manager
#     SWARM_REGISTRY      ADDR:5000 of node 1's registry (insecure: every
#                         node's dockerd lists it)
#     SWARM_PORT          2375, the port of every node's engine
#   swarm_engine HOST   tcp://ADDR:2375 of the node named HOST
#   swarm_down          remove the nodes (and their volumes), the network
#                       and the image; the EXIT trap does it (swarm_trap)
#   swarm_reap          remove the swarms of processes that are gone
#                       (swarm_up does it first)
#
# What this host needs (issue 14's notes): `--privileged` fails here
# ("unable to apply caps"), so the nodes get every capability but
# CAP_SYS_RESOURCE, which root lacks, with seccomp and the masked /sys
# paths off; inside, /sys and each cgroup v1 mount are remounted
# read-write. The node daemons run with --tls=false (otherwise dockerd
# waits 15 s before it listens on TCP). Nothing here touches the host's
# dockerd or its bridge: the nodes sit on a network of their own.
#
# The host reaches each node's engine at its address on that network; the
# kernel has no IPVS, so services publish ports in mode=host and the
# ingress mesh is never used.

SWARM_ID=
SWARM_DIR=
SWARM_NODES=
SWARM_ADDRS=
SWARM_MANAGER=
SWARM_REGISTRY=
SWARM_PORT=2375
SWARM_IMAGE=
SWARM_NET=

# docker on the shared engine, whatever the caller exported.
swarm_host_docker() {
	env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH \
		docker -H unix:///var/run/docker.sock "$@"
}

swarm_die() {
	echo "swarm: $*" >&2
	return 1
}

swarm_down() {
	[ -n "$SWARM_ID" ] || return 0
	swarm_host_docker ps -aq --filter "label=dev.devwatch.swarm=$SWARM_ID" |
		xargs -r timeout 120 docker -H unix:///var/run/docker.sock rm -f -v >/dev/null 2>&1 || true
	[ -z "$SWARM_NET" ] || swarm_host_docker network rm "$SWARM_NET" >/dev/null 2>&1 || true
	[ -z "$SWARM_IMAGE" ] || swarm_host_docker rmi "$SWARM_IMAGE" >/dev/null 2>&1 || true
	[ -z "$SWARM_DIR" ] || rm -rf "$SWARM_DIR"
	SWARM_ID=
}

# Run swarm_down before whatever EXIT trap is set now (lib.sh's), keeping
# the status.
swarm_trap() {
	local prev
	prev=$(trap -p EXIT | sed "s/^trap -- '\(.*\)' EXIT$/\1/")
	# shellcheck disable=SC2064
	trap "rc=\$?; set +e; swarm_down; unset DOCKER_HOST; (exit \$rc); ${prev:-exit \$rc}" EXIT
}

swarm_engine() {
	local i=1 n
	for n in $SWARM_NODES; do
		if [ "$n" = "$1" ]; then
			echo "tcp://$(echo "$SWARM_ADDRS" | cut -d' ' -f$i):$SWARM_PORT"
			return 0
		fi
		i=$((i + 1))
	done
	swarm_die "no node named '$1'"
}

swarm_wait() { # swarm_wait SECS CMD...
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

swarm_image() {
	mkdir -p "$SWARM_DIR/image"
	cat >"$SWARM_DIR/image/Dockerfile" <<'EOF'
FROM debian:bookworm
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      docker.io docker-registry iptables iproute2 procps ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY node.sh /usr/local/bin/node.sh
VOLUME /var/lib/docker
ENTRYPOINT ["sh", "/usr/local/bin/node.sh"]
EOF
	cat >"$SWARM_DIR/image/node.sh" <<'EOF'
# One swarm node: make /sys and the cgroup v1 mounts writable (the
# container is not --privileged), start the registry when asked, then
# dockerd in the foreground.
set -e
mount -o remount,rw /sys
for m in $(awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/mounts); do
	mount -o remount,bind,rw "$m"
done
if [ -n "$NODE_REGISTRY" ]; then
	mkdir -p /var/lib/registry
	cat >/etc/registry.yml <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/docker/registry
http:
  addr: 0.0.0.0:5000
YML
	docker-registry serve /etc/registry.yml >/var/log/registry.log 2>&1 &
fi
exec dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2375 --tls=false \
	--insecure-registry "$NODE_INSECURE" --log-level warn
EOF
	SWARM_IMAGE=devwatch-swarm-node:$SWARM_ID
	swarm_host_docker build -q -t "$SWARM_IMAGE" "$SWARM_DIR/image" >"$SWARM_DIR/build.log" 2>&1 ||
		{ tail -20 "$SWARM_DIR/build.log" >&2; swarm_die "cannot build the node image"; }
}

# Swarms whose creator is gone (killed before its EXIT trap could run: a
# ctest timeout, say) go before a new one comes: by their label, and only
# when no process of that PID runs.
swarm_reap() {
	local id pid
	swarm_host_docker ps -a --filter label=dev.devwatch.swarm \
		--format '{{.Label "dev.devwatch.swarm"}} {{.Label "dev.devwatch.swarm.pid"}}' |
		sort -u | while read -r id pid; do
		[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null || continue
		echo "swarm: removing swarm $id, left by process $pid" >&2
		swarm_host_docker ps -aq --filter "label=dev.devwatch.swarm=$id" |
			xargs -r timeout 120 docker -H unix:///var/run/docker.sock rm -f -v >/dev/null 2>&1
		swarm_host_docker network rm "dwswarm-$id" >/dev/null 2>&1
		swarm_host_docker rmi "devwatch-swarm-node:$id" >/dev/null 2>&1
	done
	return 0
}

swarm_up() {
	local n=${1:-3} i net addr name tok
	swarm_reap
	SWARM_ID=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	SWARM_DIR=$(mktemp -d "/tmp/dwswarm-$SWARM_ID.XXXXXX")
	swarm_image || return 1
	for net in $(shuf -i 2-254); do
		ip -4 addr | grep -q " 10.215.$net\." || break
	done
	SWARM_NET=dwswarm-$SWARM_ID
	swarm_host_docker network create --subnet "10.215.$net.0/24" \
		--label "dev.devwatch.swarm=$SWARM_ID" "$SWARM_NET" >/dev/null ||
		swarm_die "cannot create network $SWARM_NET" || return 1
	SWARM_REGISTRY=10.215.$net.11:5000
	for i in $(seq 1 "$n"); do
		name=dwswarm-$SWARM_ID-$i
		addr=10.215.$net.$((10 + i))
		swarm_host_docker run -d --name "$name" --hostname "$name" \
			--label "dev.devwatch.swarm=$SWARM_ID" --label "dev.devwatch.swarm.pid=$$" \
			--network "$SWARM_NET" --ip "$addr" \
			--cap-add ALL --cap-drop SYS_RESOURCE \
			--security-opt seccomp=unconfined --security-opt systempaths=unconfined \
			-e "NODE_INSECURE=$SWARM_REGISTRY" \
			-e "NODE_REGISTRY=$([ "$i" = 1 ] && echo 1)" \
			"$SWARM_IMAGE" >/dev/null ||
			swarm_die "cannot start node $name" || return 1
		SWARM_NODES="${SWARM_NODES:+$SWARM_NODES }$name"
		SWARM_ADDRS="${SWARM_ADDRS:+$SWARM_ADDRS }$addr"
	done
	for addr in $SWARM_ADDRS; do
		swarm_wait 90 docker -H "tcp://$addr:$SWARM_PORT" version ||
			{ swarm_host_docker logs --tail 20 "dwswarm-$SWARM_ID-1" >&2; swarm_die "the engine at $addr did not start"; } ||
			return 1
	done
	addr=$(echo "$SWARM_ADDRS" | cut -d' ' -f1)
	SWARM_MANAGER=tcp://$addr:$SWARM_PORT
	docker -H "$SWARM_MANAGER" swarm init --advertise-addr "$addr" >"$SWARM_DIR/init.log" 2>&1 ||
		{ cat "$SWARM_DIR/init.log" >&2; swarm_die "swarm init failed"; } || return 1
	tok=$(docker -H "$SWARM_MANAGER" swarm join-token -q worker)
	for addr in $(echo "$SWARM_ADDRS" | cut -d' ' -f2-); do
		docker -H "tcp://$addr:$SWARM_PORT" swarm join --token "$tok" \
			--advertise-addr "$addr" "$(echo "$SWARM_ADDRS" | cut -d' ' -f1):2377" >/dev/null 2>&1 ||
			swarm_die "node $addr could not join the swarm" || return 1
	done
	swarm_wait 60 swarm_all_ready "$n" ||
		{ docker -H "$SWARM_MANAGER" node ls >&2; swarm_die "not every node is ready"; } || return 1
	for addr in $SWARM_ADDRS; do
		swarm_host_docker save busybox:1.36 | docker -H "tcp://$addr:$SWARM_PORT" load >/dev/null ||
			swarm_die "cannot load busybox:1.36 into $addr" || return 1
	done
	swarm_wait 30 curl -sf "http://$SWARM_REGISTRY/v2/" ||
		swarm_die "the registry at $SWARM_REGISTRY does not answer" || return 1
	export SWARM_ID SWARM_NODES SWARM_ADDRS SWARM_MANAGER SWARM_REGISTRY SWARM_PORT
}

swarm_all_ready() {
	[ "$(docker -H "$SWARM_MANAGER" node ls --format '{{.Status}}' | grep -c '^Ready$')" = "$1" ]
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	[ "${1:-}" = run ] && [ $# -ge 2 ] || { echo "usage: swarmlib.sh run CMD [ARGS...]" >&2; exit 2; }
	shift
	trap 'rc=$?; set +e; swarm_down; exit $rc' EXIT
	trap 'exit 130' INT TERM
	swarm_up
	"$@"
fi
