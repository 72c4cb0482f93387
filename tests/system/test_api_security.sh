#!/usr/bin/env bash
# The refusals of DESIGN.md section 9 on the real server of `up`: it
# listens on loopback only; a foreign Host (DNS rebinding) is 421; a
# foreign Origin on a state change is 403; a form POST is 415; a GET of a
# state change is 405; an oversized body is 413; no answer carries a CORS
# header; and none of the refused triggers ran the step.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apilib.sh"
dw_init apisec
api_project
dw_up
dw_wait_ready
api_wait
runs() { in_container box sh -c 'cat /tmp/runs 2>/dev/null | wc -l'; }
before=$(runs)
T_URL=$API/api/trigger/box
JSON_CT=(-H 'Content-Type: application/json')

expect() { # CODE WHAT CURL-ARGS...
	local want=$1 what=$2 got
	shift 2
	got=$(api_code "$@")
	[ "$got" = "$want" ] || fail "$what: $got, not $want"
}
expect 200 "a loopback GET" "$API/api/status"
expect 200 "Host localhost" -H "Host: localhost:$API_PORT" "$API/api/status"
expect 421 "a rebinding Host" -H "Host: evil.example:$API_PORT" "$API/api/status"
expect 421 "our name with another port" -H "Host: 127.0.0.1:1" "$API/api/status"
expect 403 "a foreign Origin" -X POST "${JSON_CT[@]}" -H 'Origin: http://evil.example' -d '{}' "$T_URL"
expect 415 "a form POST" -X POST -H 'Content-Type: application/x-www-form-urlencoded' -d 'a=1' "$T_URL"
expect 415 "a text/plain POST" -X POST -H 'Content-Type: text/plain' -d '{}' "$T_URL"
expect 405 "a GET of a state change" "$T_URL"
# The cap is 6 MiB (a Lambda payload's); over it with a length and without.
head -c $((7 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$T/big"
expect 413 "an oversized body" -X POST "${JSON_CT[@]}" --data-binary @"$T/big" "$T_URL"
expect 413 "an oversized chunked body" -X POST "${JSON_CT[@]}" -H 'Transfer-Encoding: chunked' \
	--data-binary @"$T/big" "$T_URL"

# No CORS header, even for a preflight.
curl -s -D "$T/headers" -o /dev/null -X OPTIONS -H 'Origin: http://evil.example' \
	-H 'Access-Control-Request-Method: POST' "$T_URL" || true
curl -s -D - -o /dev/null -H 'Origin: http://evil.example' "$API/api/status" >>"$T/headers"
! grep -qi '^access-control-' "$T/headers" || fail "a CORS header was sent: $(cat "$T/headers")"

# Loopback only: another address of this machine does not answer.
other=$(ip -4 -o addr show scope global | awk '{split($4, a, "/"); print a[1]; exit}')
if [ -n "$other" ]; then
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$other:$API_PORT/api/status" || true)
	[ "$code" = 000 ] || fail "the API answers on $other ($code)"
fi
grep -q "control API on http://127.0.0.1:$API_PORT/" "$T/up.log" || fail "up does not say where the API is"

# Nothing refused ran: the accepted trigger below is the first run.
[ "$(runs)" = "$before" ] || fail "a refused request ran the step"
expect 202 "a JSON POST" -X POST "${JSON_CT[@]}" -d '{}' "$T_URL"
more_runs() { [ "$(runs)" -gt "$before" ]; }
wait_for 60 more_runs || fail "the accepted trigger did not run"
dw_stop
echo PASS
