#!/usr/bin/env bash
# A remote engine: a private dockerd in a network namespace of its own,
# reached over a veth pair at $PD_REMOTE, which is no address of this
# machine's. Its published ports live at $PD_REMOTE only: the readiness
# probe and the printed URL must go there (127.0.0.1 has nothing). A bind
# mount's source is a path on the engine's machine: up warns once. A save
# lands in the container on that engine.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enginelib.sh"
dw_init engine-remote
pd_netns
port=$(free_port)
pd_start -H "tcp://$PD_REMOTE:$port" --tls=false
export DOCKER_HOST="tcp://$PD_REMOTE:$port"
WANT_URL_HOST=$PD_REMOTE WANT_WARNING=1
dw_copy_sample website
# The same sample, plus a bind mount (a path this machine shares with the
# namespace, so the container still starts).
mkdir -p "$T/website/data"
python3 - "$PROJ" <<'PY'
import re, sys
p = sys.argv[1]; t = open(p).read()
t = t.replace('"ports":', '"mounts": ["data:/data:ro"],\n      "ports":', 1)
open(p, "w").write(t)
PY
"$DEVWATCH" check -f "$PROJ" >/dev/null || fail "the project with a mount does not check"
engine_scenario
[ "$(grep -c "is remote: bind mount '$T/website/data' of 'web' is a path on the engine's machine" "$T/up.log")" = 1 ] ||
	fail "no single warning about the bind mount on a remote engine"
echo "ok"
