#!/usr/bin/env bash
# A second, private dockerd over plain TCP on the IPv6 loopback: DOCKER_HOST
# without a scheme's default port resolved, `version` naming it, the
# hijacked exec reaching [::1] (no fallback to the archive API), the URL on
# the engine's host, and a save landing in the container on that engine.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enginelib.sh"
dw_init engine-tcp
port=$(free_port)
pd_start -H "tcp://[::1]:$port" --tls=false
export DOCKER_HOST="tcp://[::1]:$port"
"$DEVWATCH" version | grep -qxF "engine tcp://[::1]:$port (from DOCKER_HOST)" ||
	fail "version does not name the engine: $("$DEVWATCH" version)"
WANT_URL_HOST='[::1]'
engine_scenario
echo "ok"
