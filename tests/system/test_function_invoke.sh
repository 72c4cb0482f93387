#!/usr/bin/env bash
# samples/function exactly as shipped: devwatch serves the AWS Lambda
# Runtime API to its "function": true container, on the project network's
# gateway and nowhere else, and refuses a container of another network. `devwatch invoke` and POST /api/invoke/hello
# return the function's response; after an edit of the handler (synced,
# then restart_container) the same container answers with the new code.
# `devwatch run` of a function is a usage error. Ends with /var/task equal
# to handler/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fnlib.sh"
dw_init fninvoke
fn_start

# Where the runtime API listens: the address the container was given,
# which is its network's gateway, with no wildcard listener beside it.
ep=$(docker exec "$C" printenv AWS_LAMBDA_RUNTIME_API) || fail "no AWS_LAMBDA_RUNTIME_API in the container"
addr=${ep%:*} port=${ep##*:}
gw=$(docker exec "$C" sh -c "awk '\$2 == \"00000000\" { print \$3 }' /proc/net/route" |
	python3 -c 'import sys, socket, struct; print(socket.inet_ntoa(struct.pack("<I", int(sys.stdin.read().split()[0], 16))))')
[ "$addr" = "$gw" ] || fail "the runtime API is on $addr, not on the container's gateway $gw"
listeners=$(ss -Htln "sport = :$port" | awk '{ print $4 }')
[ "$listeners" = "$addr:$port" ] || fail "port $port is bound as '$listeners', expected only $addr:$port"
# A container on another bridge reaches that address too (it is the
# host's), and is refused before it could take an invocation. (Asked with
# python3 in the function's own image: busybox 1.36's wget crashed on it.)
img=$(docker inspect -f '{{.Config.Image}}' "$C")
out=$(docker run --rm --name "$P-outsider" --label "dev.devwatch.project=$P" \
	--entrypoint python3 "$img" -c '
import http.client, sys
host, port = sys.argv[1].rsplit(":", 1)
c = http.client.HTTPConnection(host, int(port), timeout=10)
c.request("GET", "/2018-06-01/runtime/invocation/next")
r = c.getresponse()
print(r.status, r.read().decode())' "$ep" 2>&1) || fail "the outsider could not ask: $out"
grep -q "^403 .*AccessDenied" <<<"$out" || fail "a container on the default bridge was not refused with 403: $out"

# The session's status says what it is.
curl -sf "$API/api/status" | python3 -c '
import json, sys
c = json.load(sys.stdin)["containers"][0]
assert c["name"] == "hello" and c["function"] is True and c["ready"] is True, c' ||
	fail "/api/status does not show hello as a ready function"

# The project's env stays beside the runtime's.
for kv in GREETING=hello PYTHONDONTWRITEBYTECODE=1 AWS_LAMBDA_FUNCTION_NAME=hello; do
	docker exec "$C" printenv "${kv%%=*}" | grep -qx "${kv#*=}" || fail "the container lacks $kv"
done

# Before the edit, through the CLI (and stdin) and through the API.
out=$(fn_invoke '{"name": "you"}') || fail "invoke failed: $(cat "$T/invoke.err")"
[ "$(fn_field message <<<"$out")" = "hello, you!" ] || fail "invoke answered '$out'"
out=$(echo '{}' | "$DEVWATCH" invoke -f "$PROJ" hello --data -) || fail "invoke from stdin failed"
[ "$(fn_field message <<<"$out")" = "hello, world!" ] || fail "invoke from stdin answered '$out'"
out=$(fn_post '{"name": "curl"}')
[ "$(cat "$T/code")" = 200 ] || fail "POST /api/invoke/hello answered $(cat "$T/code"): $out"
[ "$(fn_field message <<<"$out")" = "hello, curl!" ] || fail "POST /api/invoke/hello answered '$out'"
id=$(cid hello)

# The edit: synced between invocations, the runtime restarted into it.
sed -i 's/"%s, %s!"/"%s again, %s!"/' "$H"
says() { up_alive; [ "$(fn_invoke '{"name": "you"}' | fn_field message)" = "$1" ]; }
wait_for 60 says "hello again, you!" || fail "the function did not pick up the edit"
[ "$(cid hello)" = "$id" ] || fail "restart_container replaced the container"
out=$(fn_post '{"name": "curl"}')
[ "$(fn_field message <<<"$out")" = "hello again, curl!" ] || fail "the API answered '$out' after the edit"
dw_converge 60 "$C" /var/task "$T/function/handler"

# Not a function, and not a container: what the API and the CLI say.
rc=0
"$DEVWATCH" invoke -f "$PROJ" nope 2>"$T/err" || rc=$?
[ "$rc" = 2 ] || fail "invoke of an unknown name exited $rc, expected 2"
grep -q "nope" "$T/err" || fail "no name in the error: $(cat "$T/err")"
# A one-off `run` has no Runtime API to give it: a usage error.
rc=0
"$DEVWATCH" run -f "$PROJ" hello 2>"$T/err" || rc=$?
[ "$rc" = 2 ] || fail "run of a function exited $rc, expected 2"
grep -q "is a function container" "$T/err" || fail "run of a function did not say why: $(cat "$T/err")"
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC"
[ "$(count_containers)" -eq 0 ] || fail "containers left"
ss -Htln "sport = :$port" | grep -q . && fail "the runtime API still listens on $port after up ended"
echo ok
