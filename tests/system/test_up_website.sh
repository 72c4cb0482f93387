#!/usr/bin/env bash
# The website sample, as shipped, comes up, answers on its own host port
# 8080, and SIGTERM leaves no container behind.
. "$(dirname "$0")/lib.sh"
dw_init website
dw_copy_sample website
dw_up
dw_wait_ready
port=$(host_port web 80)
[ "$port" = 8080 ] || fail "web:80 is on host port '$port', not 8080"
curl -sf "http://127.0.0.1:$port/" | grep -q "Hello from devwatch" || fail "index.html not served"
curl -sf "http://127.0.0.1:$port/blog.html" | grep -q "First post" || fail "build.sh did not generate blog.html"
[ "$(count_containers)" -eq 1 ] || fail "expected 1 container"
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC on SIGTERM"
[ "$(count_containers)" -eq 0 ] || fail "containers left after SIGTERM"
echo ok
