#!/usr/bin/env bash
# The service sample end to end: editing the source restarts the same
# container (restart_container), which then answers with the new code;
# editing the dependency manifest (fall_back_on) rebuilds and replaces it.
. "$(dirname "$0")/lib.sh"
dw_init livesvc
dw_copy_sample service
dw_up
dw_wait_ready 900
wait_for 30 up_log_has "watching" || fail "watcher did not start"
message() { curl -sf "http://127.0.0.1:$(host_port api 8000)/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message"])'; }
says() { [ "$(message)" = "$1" ]; }
id=$(cid api)
sed -i 's/from the devwatch service/from the edited service/' "$T/service/app/greeting.py"
wait_for 60 says "hello from the edited service" || fail "service did not pick up the edit"
[ "$(cid api)" = "$id" ] || fail "restart_container replaced the container"
echo "ca-certificates" >>"$T/service/packages.txt"
wait_for 900 sh -c "docker exec $P-api-1 test -d /etc/ssl/certs/ 2>/dev/null && docker exec $P-api-1 dpkg -s ca-certificates >/dev/null 2>&1" || fail "manifest edit did not rebuild"
[ "$(cid api)" != "$id" ] || fail "manifest edit kept the old container"
wait_for 60 says "hello from the edited service" || fail "rebuilt service lost the edit"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
