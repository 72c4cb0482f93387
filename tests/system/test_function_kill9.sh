#!/usr/bin/env bash
# samples/function exactly as shipped, with `devwatch up` killed with
# SIGKILL and the handler edited while it is down: the next `up` serves
# the Runtime API on the endpoint the container's runtime still aims at,
# adopts the running container (the same engine ID), catches it up (the
# edit synced, restart_container), and the next invocation runs the new
# code. Ends with /var/task equal to handler/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fnlib.sh"
dw_init fnkill9
fn_start
out=$(fn_invoke '{"name": "you"}') || fail "invoke failed: $(cat "$T/invoke.err")"
[ "$(fn_field message <<<"$out")" = "hello, you!" ] || fail "invoke answered '$out'"
id=$(cid hello)
ep=$(docker exec "$C" printenv AWS_LAMBDA_RUNTIME_API)
kill -KILL "$UP_PID"
wait "$UP_PID" 2>/dev/null || true
UP_PID=
[ "$(cid hello)" = "$id" ] || fail "the container did not survive SIGKILL of up"

# While devwatch is down.
sed -i 's/"%s, %s!"/"%s after a crash, %s!"/' "$H"

mv "$T/up.log" "$T/up1.log"
dw_up
dw_wait_ready 300
wait_for 60 fn_api_ok || fail ".devwatch/api does not name the new up process"
API=http://127.0.0.1:$(sed -n 1p "$T/function/.devwatch/api")
up_log_has "Lambda Runtime API on $ep\$" || fail "the Runtime API is not on $ep again: $(grep 'Runtime API' "$T/up.log")"
up_log_has "adopted" || fail "up did not adopt the running container"
[ "$(cid hello)" = "$id" ] || fail "the container was replaced, not adopted"
says() { up_alive; [ "$(fn_invoke '{"name": "you"}' | fn_field message)" = "$1" ]; }
wait_for 60 says "hello after a crash, you!" || fail "the offline edit did not reach the function"
dw_converge 60 "$C" /var/task "$T/function/handler"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
