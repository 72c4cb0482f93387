#!/usr/bin/env bash
# samples/service exactly as shipped (host port 8081), every step of its
# README: editing the source restarts the same container
# (restart_container), which then answers with the new code; editing the
# dependency manifest (fall_back_on) rebuilds and replaces it on the same
# fixed port. Ends with /app equal to app/ (__pycache__ is Python's own).
. "$(dirname "$0")/lib.sh"
dw_init livesvc
dw_copy_sample service
dw_up
dw_wait_ready 900
wait_for 30 up_log_has "watching" || fail "watcher did not start"
[ "$(host_port api 8000)" = 8081 ] || fail "api:8000 is not on host port 8081"
message() { curl -sf "http://127.0.0.1:8081/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message"])'; }
says() { up_alive; [ "$(message)" = "$1" ]; }
says "hello from the devwatch service" || fail "the service does not answer on 8081"
id=$(cid api)

# 1. The source.
sed -i 's/from the devwatch service/from the edited service/' "$T/service/app/greeting.py"
wait_for 60 says "hello from the edited service" || fail "service did not pick up the edit"
[ "$(cid api)" = "$id" ] || fail "restart_container replaced the container"

# 2. The manifest: a rebuild and a replacement on port 8081.
echo "ca-certificates" >>"$T/service/packages.txt"
has_package() {
	up_alive
	! up_log_has "did not become ready" || fail "the rebuilt container did not become ready"
	docker exec "$P-api-1" dpkg -s ca-certificates
}
wait_for 900 has_package || fail "manifest edit did not rebuild"
replaced() { up_alive; [ "$(cid api)" != "$id" ] && [ "$(count_containers)" -eq 1 ]; }
wait_for 60 replaced || fail "the replacement did not finish: $(count_containers) containers, api-1 is $(cid api)"
wait_for 60 says "hello from the edited service" || fail "rebuilt service lost the edit"
dw_converge 60 "$P-api-1" /app "$T/service/app" --extra __pycache__ --extra '__pycache__/*'
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
