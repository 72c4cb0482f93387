#!/usr/bin/env bash
# Without a readiness probe, the image's HEALTHCHECK decides readiness:
# "starting" holds the container (and what depends on it being ready), and
# "healthy" makes it ready.
. "$(dirname "$0")/lib.sh"
dw_init health
mkdir -p "$T/p/db"
cat >"$T/p/db/Dockerfile" <<'DF'
FROM busybox:1.36
HEALTHCHECK --interval=200ms --timeout=1s --retries=1000 CMD test -e /tmp/healthy
DF
cat >"$T/p/devwatch.json" <<JSON
{
  "name": "$P",
  "containers": {
    "db": { "build": "db", "cmd": ["sleep", "3600"] },
    "api": { "image": "busybox:1.36", "pull": "never", "cmd": ["sleep", "3600"],
             "depends_on": { "db": "ready" } }
  }
}
JSON
PROJ=$T/p/devwatch.json
dw_up --no-watch
health() { docker inspect -f '{{.State.Health.Status}}' "$P-db-1" 2>/dev/null; }
wait_for 120 sh -c "[ \"\$(docker inspect -f '{{.State.Health.Status}}' $P-db-1 2>/dev/null)\" = starting ]" ||
	fail "db never reported 'starting'"
# Three failed health checks later it is still starting, so not ready.
checks() { [ "$(docker inspect -f '{{len .State.Health.Log}}' "$P-db-1")" -ge 3 ]; }
wait_for 60 checks || fail "the HEALTHCHECK did not run"
[ "$(health)" = starting ] || fail "db is '$(health)', expected still starting"
if up_log_has "db +ready"; then fail "db counted ready while its HEALTHCHECK said starting"; fi
docker inspect "$P-api-1" >/dev/null 2>&1 && fail "api was created before db was healthy"
in_container db touch /tmp/healthy
dw_wait_ready 60
[ "$(health)" = healthy ] || fail "db is '$(health)' once ready"
up_log_has "db +ready" || fail "db never counted ready"
up_log_has "api +starting: db ready" || fail "api did not start after db became healthy"
dw_stop
echo ok
