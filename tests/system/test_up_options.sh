#!/usr/bin/env bash
# env, cmd, workdir, ports with host port 0, a command readiness probe,
# replicas, mounts, resources, the restart policy and user all take effect
# on the real containers.
. "$(dirname "$0")/lib.sh"
dw_init options
mkdir -p "$T/proj"
cat >"$T/proj/Dockerfile" <<'DF'
FROM busybox:1.36
RUN mkdir -p /www /srv
DF
cat >"$T/proj/devwatch.json" <<JSON
{
  "name": "$P",
  "containers": {
    "web": {
      "build": { "context": "." },
      "env": { "GREETING": "hi there", "N": 3 },
      "workdir": "/srv",
      "cmd": "echo \"\$GREETING \$N\" > /www/index.html; pwd > /www/pwd.txt; touch /tmp/ready; exec httpd -f -p 80 -h /www",
      "ports": ["0:80"],
      "readiness": { "cmd": ["test", "-f", "/tmp/ready"] },
      "replicas": 3
    }
  }
}
JSON
mkdir -p "$T/proj/shared" && echo from-host >"$T/proj/shared/note.txt"
python3 - "$T/proj/devwatch.json" <<'PY'
import json, re, sys
p = sys.argv[1]
text = open(p).read()
text = text.replace('"replicas": 3', '"replicas": 3, "mounts": ["shared:/shared:ro"], "resources": {"cpus": 0.5, "memory": "64m"}, "restart": {"policy": "on-failure", "max_restarts": 2}, "user": "0:0"')
open(p, "w").write(text)
PY
PROJ=$T/proj/devwatch.json
dw_up
dw_wait_ready
[ "$(count_containers)" -eq 3 ] || fail "expected 3 replicas, found $(count_containers)"
seen=
for r in 1 2 3; do
	port=$(host_port web 80 $r)
	[ -n "$port" ] && [ "$port" -ne 80 ] || fail "replica $r: no engine-picked port"
	case " $seen " in *" $port "*) fail "replica $r shares port $port" ;; esac
	seen="$seen $port"
	[ "$(curl -sf "http://127.0.0.1:$port/")" = "hi there 3" ] || fail "replica $r: env/cmd not applied"
	[ "$(curl -sf "http://127.0.0.1:$port/pwd.txt")" = "/srv" ] || fail "replica $r: workdir not applied"
done
docker inspect "$P-web-2" --format '{{index .Config.Labels "dev.devwatch.replica"}}' | grep -qx 2 || fail "replica label"
[ "$(docker exec "$P-web-1" cat /shared/note.txt)" = from-host ] || fail "bind mount missing"
! docker exec "$P-web-1" sh -c 'echo x > /shared/w' 2>/dev/null || fail "read-only mount is writable"
[ "$(docker inspect "$P-web-1" --format '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}')" = "67108864 500000000" ] || fail "resources not applied"
[ "$(docker inspect "$P-web-1" --format '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}')" = "on-failure 2" ] || fail "restart policy not applied"
[ "$(docker inspect "$P-web-1" --format '{{.Config.User}}')" = "0:0" ] || fail "user not applied"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
