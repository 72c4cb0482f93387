#!/usr/bin/env bash
# The service sample as shipped (debian:bookworm with python3 from apt)
# comes up on its own host port 8081 and answers JSON with the message from
# its env.
. "$(dirname "$0")/lib.sh"
dw_init service
dw_copy_sample service
dw_up
dw_wait_ready 900
port=$(host_port api 8000)
[ "$port" = 8081 ] || fail "api:8000 is on host port '$port', not 8081"
body=$(curl -sf "http://127.0.0.1:$port/") || fail "service does not answer"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["message"]=="hello from the devwatch service", d' "$body" || fail "unexpected answer: $body"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left after SIGTERM"
echo ok
