#!/usr/bin/env bash
# Make sure a Docker engine answers. When none does and we may start one
# (root, dockerd installed), start dockerd in the background and wait until
# it answers. Prints nothing when an engine is already up.
set -euo pipefail

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if engine_up; then
	exit 0
fi
if [ -n "${DOCKER_HOST:-}" ] && [[ "${DOCKER_HOST}" != unix://* ]]; then
	echo "devwatch: no engine answers at $DOCKER_HOST" >&2
	exit 1
fi
if ! command -v dockerd >/dev/null; then
	echo "devwatch: no engine answers and dockerd is not installed (apt-get install docker.io)" >&2
	exit 1
fi
echo "devwatch: starting dockerd (log: /var/log/devwatch-dockerd.log)" >&2
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
else
	sudo=
fi
$sudo sh -c 'nohup dockerd >/var/log/devwatch-dockerd.log 2>&1 &'
for _ in $(seq 1 120); do
	if engine_up; then
		exit 0
	fi
	sleep 0.5
done
echo "devwatch: dockerd did not answer within 60 s; see /var/log/devwatch-dockerd.log" >&2
exit 1
