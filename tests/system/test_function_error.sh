#!/usr/bin/env bash
# samples/function exactly as shipped, then its README's steps 2 and 3: a
# handler that raises is a function error, a 502 with errorMessage,
# errorType and stackTrace from POST /api/invoke/hello, and `devwatch
# invoke` exits 1 saying type and message; a handler that does not import
# fails each invocation at once with the runtime's init error; the fix
# answers again. Ends with /var/task equal to handler/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fnlib.sh"
dw_init fnerror
fn_start
out=$(fn_invoke '{"name": "you"}') || fail "invoke failed: $(cat "$T/invoke.err")"
orig=$(cat "$H")

# Step 2: the handler raises.
cat >"$H" <<'PY'
def handle(event, context):
    raise ValueError("no name given")
PY
failing() { up_alive; fn_post '{}' >/dev/null; [ "$(cat "$T/code")" = 502 ]; }
wait_for 60 failing || fail "the raising handler did not answer 502 (got $(cat "$T/code"): $(cat "$T/post.body"))"
body=$(cat "$T/post.body")
[ "$(fn_field errorType <<<"$body")" = ValueError ] || fail "errorType is not ValueError: $body"
[ "$(fn_field errorMessage <<<"$body")" = "no name given" ] || fail "errorMessage is wrong: $body"
fn_field stackTrace <<<"$body" | grep -q "handler.py" || fail "no stackTrace naming handler.py: $body"
rc=0
out=$(fn_invoke '{}') || rc=$?
[ "$rc" = 1 ] || fail "invoke of a failing function exited $rc, expected 1"
[ -z "$out" ] || fail "invoke printed '$out' on stdout for a function error"
grep -qF "devwatch invoke: 'hello' failed: ValueError: no name given" "$T/invoke.err" ||
	fail "invoke did not say the error: $(cat "$T/invoke.err")"

# Step 3: the handler does not import; each invocation fails at once.
echo 'def handle(event, context) return 1' >"$H"
init_failing() {
	up_alive
	fn_post '{}' >/dev/null
	[ "$(cat "$T/code")" = 502 ] &&
		[ "$(fn_field errorType <"$T/post.body")" = Runtime.UserCodeSyntaxError ]
}
wait_for 60 init_failing || fail "the broken import did not fail with the init error: $(cat "$T/post.body")"
t0=$(date +%s%N)
rc=0
fn_invoke '{}' >/dev/null || rc=$?
t1=$(date +%s%N)
[ "$rc" = 1 ] || fail "invoke during an init error exited $rc"
grep -q "Runtime.UserCodeSyntaxError" "$T/invoke.err" || fail "invoke did not name the init error: $(cat "$T/invoke.err")"
[ $(((t1 - t0) / 1000000)) -lt 5000 ] || fail "an invocation waited $(((t1 - t0) / 1000000)) ms on a broken init"

# The fix answers again, in the same container.
id=$(cid hello)
printf '%s\n' "$orig" >"$H"
answers() { up_alive; [ "$(fn_invoke '{"name": "again"}' | fn_field message)" = "hello, again!" ]; }
wait_for 60 answers || fail "the fixed handler does not answer: $(cat "$T/invoke.err")"
[ "$(cid hello)" = "$id" ] || fail "the fix replaced the container"
dw_converge 60 "$C" /var/task "$T/function/handler"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
