#!/usr/bin/env bash
# samples/function exactly as shipped, with a handler that takes its time:
# invocations queued while the function restarts are none of them lost.
# 1. POST /api/restart/hello while one invocation runs and three wait: the
#    running one finishes in the old runtime, the three run in the new one.
# 2. An edit of the handler while one runs (restart_container): it lands
#    between invocations; the running one answers with the old code, the
#    ones queued behind it with the new code.
# Ends with /var/task equal to handler/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fnlib.sh"
dw_init fnqueue
fn_start

# The runtime's boot time tells two runtimes apart.
cat >"$H" <<'PY'
import time

BOOT = time.time()


def handle(event, context):
    time.sleep(event.get("sleep", 0))
    return {"message": "A", "n": event["n"], "boot": BOOT}
PY
slow_ready() { up_alive; [ "$(fn_invoke '{"n": 0}' | fn_field message)" = A ]; }
wait_for 60 slow_ready || fail "the slow handler did not load"
id=$(cid hello)

# 1. A restart through the API with invocations queued.
started=$(fn_starts)
fn_bg 1 '{"n": 1, "sleep": 2}'
begun() { [ "$(fn_starts)" -gt "$1" ]; }
wait_for 30 begun "$started" || fail "invocation 1 did not begin"
for n in 2 3 4; do fn_bg "$n" "{\"n\": $n}"; done
code=$(curl -s -o "$T/restart" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' "$API/api/restart/hello")
[ "$code" = 202 ] || fail "restart answered $code: $(cat "$T/restart")"
fn_wait
for n in 1 2 3 4; do
	[ "$(cat "$T/inv.$n.code")" = 200 ] || fail "invocation $n answered $(cat "$T/inv.$n.code"): $(cat "$T/inv.$n")"
	[ "$(fn_field n <"$T/inv.$n")" = "$n" ] || fail "invocation $n got another's answer: $(cat "$T/inv.$n")"
done
b1=$(fn_field boot <"$T/inv.1")
for n in 2 3 4; do
	[ "$(fn_field boot <"$T/inv.$n")" != "$b1" ] || fail "invocation $n ran in the runtime from before the restart"
done
[ "$(fn_field boot <"$T/inv.2")" = "$(fn_field boot <"$T/inv.4")" ] || fail "2 and 4 ran in different runtimes"
[ "$(cid hello)" = "$id" ] || fail "the restart replaced the container"

# 2. An edit while one runs: it lands between invocations.
started=$(fn_starts)
fn_bg 5 '{"n": 5, "sleep": 2}'
wait_for 30 begun "$started" || fail "invocation 5 did not begin"
sed -i 's/"message": "A"/"message": "B"/' "$H"
for n in 6 7 8; do fn_bg "$n" "{\"n\": $n}"; done
fn_wait
[ "$(cat "$T/inv.5.code")" = 200 ] || fail "invocation 5 (in flight at the edit) answered $(cat "$T/inv.5.code"): $(cat "$T/inv.5")"
[ "$(fn_field message <"$T/inv.5")" = A ] || fail "invocation 5 did not finish with the old code: $(cat "$T/inv.5")"
for n in 6 7 8; do
	[ "$(cat "$T/inv.$n.code")" = 200 ] || fail "invocation $n answered $(cat "$T/inv.$n.code"): $(cat "$T/inv.$n")"
	[ "$(fn_field message <"$T/inv.$n")" = B ] || fail "invocation $n (queued behind the edit) ran the old code: $(cat "$T/inv.$n")"
done
[ "$(cid hello)" = "$id" ] || fail "the edit replaced the container"
dw_converge 60 "$C" /var/task "$T/function/handler"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
