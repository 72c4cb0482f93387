#!/usr/bin/env bash
# A rebuild leaves the services it depends on alone (after docker/compose
# pkg/e2e/watch_test.go TestWatchRebuildIgnoresDependencies and
# fixtures/watch/rebuild-deps.yaml, compose #13853, on busybox:1.36):
# frontend depends_on a backend that must be healthy (its healthcheck is
# devwatch's readiness) and a seed service it waits on to complete (a job).
# Changing the file frontend's image COPYs rebuilds frontend only: backend's
# and seed's images and containers stay as they were, backend was not
# restarted, seed did not run again. frontend's synced folder equals the
# local tree after the replacement.
. "$(dirname "$0")/lib.sh"
dw_init composedeps
mkdir -p "$T/p/web"
cd "$T/p"
echo initial >test
echo page-1 >web/index.html
cat >compose.yaml <<YAML
name: $P
services:
  backend:
    build:
      dockerfile_inline: |
        FROM busybox:1.36
        RUN echo backend_build_marker > /built
    command: ["sh", "-c", "date +%s%N > /started; touch /healthy; exec sleep 86400"]
    init: true
    stop_signal: SIGTERM
    stop_grace_period: 2s
    healthcheck:
      test: ["CMD", "test", "-f", "/healthy"]
      interval: 200ms
      retries: 20
  seed:
    build:
      dockerfile_inline: |
        FROM busybox:1.36
        RUN echo seed_build_marker > /built
    command: ["sh", "-c", "date +%s%N >> /runs"]
  frontend:
    build:
      dockerfile_inline: |
        FROM busybox:1.36
        COPY test /tmp/test
        RUN echo frontend_build_marker > /built
    command: ["sleep", "86400"]
    init: true
    stop_signal: SIGTERM
    depends_on:
      backend: {condition: service_healthy}
      seed: {condition: service_completed_successfully}
    develop:
      watch:
        - path: test
          action: rebuild
        - path: ./web
          target: /srv
          action: sync
YAML
PROJ=$T/p/compose.yaml
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
dw_converge 30 "$P-frontend-1" /srv "$T/p/web"

image_of() { docker inspect -f '{{.Image}}' "$P-$1-1"; }
started_at() { docker inspect -f '{{.State.StartedAt}}' "$P-$1-1"; }
backend_id=$(cid backend) seed_id=$(cid seed) frontend_id=$(cid frontend)
backend_img=$(image_of backend) seed_img=$(image_of seed) frontend_img=$(image_of frontend)
backend_start=$(started_at backend)
backend_stamp=$(docker exec "$P-backend-1" cat /started)
seed_runs=$(docker cp "$P-seed-1:/runs" - | tar -xO | wc -l)
[ "$seed_runs" = 1 ] || fail "seed ran $seed_runs times before the change"
[ "$(docker inspect -f '{{.State.ExitCode}}' "$P-seed-1")" = 0 ] || fail "seed did not complete"

log_cut=$(wc -l <"$T/up.log")
echo updated >test
echo page-2 >web/index.html
rebuilt() { [ "$(docker exec "$P-frontend-1" cat /tmp/test 2>/dev/null)" = updated ]; }
wait_for 120 rebuilt || fail "frontend was not rebuilt"
[ "$(cid frontend)" != "$frontend_id" ] || fail "frontend kept its container"
[ "$(image_of frontend)" != "$frontend_img" ] || fail "frontend kept its image"

[ "$(cid backend)" = "$backend_id" ] || fail "the rebuild of frontend replaced backend"
[ "$(image_of backend)" = "$backend_img" ] || fail "the rebuild of frontend rebuilt backend"
[ "$(started_at backend)" = "$backend_start" ] || fail "the rebuild of frontend restarted backend"
[ "$(docker exec "$P-backend-1" cat /started)" = "$backend_stamp" ] || fail "backend's command ran again"
[ "$(cid seed)" = "$seed_id" ] || fail "the rebuild of frontend replaced seed"
[ "$(image_of seed)" = "$seed_img" ] || fail "the rebuild of frontend rebuilt seed"
seed_runs=$(docker cp "$P-seed-1:/runs" - | tar -xO | wc -l)
[ "$seed_runs" = 1 ] || fail "seed ran again ($seed_runs runs)"
! tail -n +"$((log_cut + 1))" "$T/up.log" | grep -Eq "^(backend|seed) +(building|image|rebuilding|replaced|completed)" ||
	fail "a dependency was built or run again: $(tail -n +"$((log_cut + 1))" "$T/up.log")"
dw_converge 30 "$P-frontend-1" /srv "$T/p/web"
