#!/usr/bin/env bash
# Run one system test against Podman's Docker-compatible API instead of
# Docker: `bash tests/system/podman.sh test_up_website`. ctest runs each test
# named in podman.list this way (podman/NAME), and the list says which base
# images each needs and why the other tests are left out.
#
# The service is private to the run: `podman system service` on a socket
# of its own, with its own storage (graphroot, runroot) and network config
# folder under one temp folder (the default network's bridge, cni-podman0,
# is removed at the end), and a containers.conf that
# sets default_ulimits: root here lacks CAP_SYS_RESOURCE, so Podman's
# default rlimits (raised above the current hard limit) fail every start.
# The base images come from the Docker engine (`docker save | podman load`);
# Podman names them localhost/busybox:1.36, which short names resolve to.
# The test sees DOCKER_HOST (and DW_ENGINE_HOST) pointing at the service,
# so its `docker` commands check containers through Podman too.
set -euo pipefail
: "${DEVWATCH:?set DEVWATCH to the devwatch binary}"
: "${DEVWATCH_SRC:?set DEVWATCH_SRC to the source tree}"
name=${1:?usage: podman.sh TEST_NAME}
script=$DEVWATCH_SRC/tests/system/$name.sh
[ -f "$script" ] || { echo "podman.sh: no test '$script'" >&2; exit 2; }
command -v podman >/dev/null || { echo "podman.sh: podman is not installed (scripts/deps.sh)" >&2; exit 1; }

PM=$(mktemp -d /tmp/dwp.XXXXXX)
SVC_PID=
cleanup() {
	local rc=$?
	if [ -n "$SVC_PID" ]; then
		# Whatever the test left, then the service.
		podman ps -aq | xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
		kill -TERM "$SVC_PID" 2>/dev/null || true
		timeout 20 tail --pid="$SVC_PID" -f /dev/null || kill -KILL "$SVC_PID" 2>/dev/null || true
		# Podman keeps a conmon per finished exec for 300 s (its exit
		# delay); ours are those whose command line names $PM.
		pids=$(grep -lsF -- "$PM/" /proc/[0-9]*/cmdline | cut -d/ -f3 | grep -vx "$$" || true)
		for pid in $pids; do
			kill -TERM "$pid" 2>/dev/null || true
		done
		# Gone before their folders are removed: one still writing
		# there made rm fail ("Directory not empty") after a passed test.
		for pid in $pids; do
			timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		done
		# The default network's bridge, which CNI made for this run.
		ip link del cni-podman0 2>/dev/null || true
	fi
	local tries=0
	until grep -o " $PM[^ ]*" /proc/mounts | sort -r | xargs -r umount -l 2>/dev/null; rm -rf "$PM" 2>/dev/null; do
		tries=$((tries + 1))
		if [ $tries -ge 20 ]; then
			echo "podman.sh: could not remove $PM" >&2
			rc=1
			break
		fi
		sleep 0.25 # a lazily unmounted overlay letting go
	done
	exit $rc
}
trap cleanup EXIT

cat >"$PM/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$PM/tmp"

[network]
network_config_dir = "$PM/net"
CONF
cat >"$PM/storage.conf" <<CONF
[storage]
driver = "overlay"
runroot = "$PM/run"
graphroot = "$PM/root"
CONF
export CONTAINERS_CONF=$PM/containers.conf CONTAINERS_STORAGE_CONF=$PM/storage.conf
podman system service --time=0 "unix://$PM/podman.sock" >"$PM/service.log" 2>&1 &
SVC_PID=$!
for _ in $(seq 200); do
	docker -H "unix://$PM/podman.sock" version >/dev/null 2>&1 && break
	kill -0 "$SVC_PID" 2>/dev/null || { cat "$PM/service.log" >&2; exit 1; }
	sleep 0.05
done
docker -H "unix://$PM/podman.sock" version >/dev/null || { cat "$PM/service.log" >&2; exit 1; }
images=$(awk -v n="$name" '$1 == n { $1 = ""; print }' "$DEVWATCH_SRC/tests/system/podman.list")
for img in busybox:1.36 $images; do
	docker save "$img" | podman load -q >/dev/null
done
export DOCKER_HOST=unix://$PM/podman.sock DW_ENGINE_HOST=unix://$PM/podman.sock
bash "$script"
