# Shared by the function-container tests (test_function_*.sh), on top of
# lib.sh: samples/function exactly as shipped (project "function", the
# function container "hello").
#
#   fn_start            copy the sample, start up, wait until it is ready,
#                       watching, and .devwatch/api names the up process;
#                       sets $API (the control API's base URL), $H (the
#                       handler file) and $C (the container's engine name)
#   fn_invoke DATA      `devwatch invoke hello --data DATA`: its stdout,
#                       stderr in $T/invoke.err, and its exit code
#   fn_post DATA        POST DATA to /api/invoke/hello with curl: the body
#                       on stdout, the status code in $T/code
#   fn_field KEY        the KEY of the JSON object on stdin
#   fn_starts           how many invocations the runtime has begun (its
#                       START RequestId lines)
#   fn_bg N DATA        POST DATA in the background; body in $T/inv.N,
#                       status in $T/inv.N.code
#   fn_wait             wait for every fn_bg (not for up)

fn_api_ok() {
	[ -f "$T/function/.devwatch/api" ] &&
		[ "$(sed -n 2p "$T/function/.devwatch/api")" = "$UP_PID" ]
}

fn_start() {
	dw_copy_sample function
	dw_up
	dw_wait_ready 900
	wait_for 30 up_log_has "watching" || fail "watcher did not start"
	wait_for 60 fn_api_ok || fail ".devwatch/api does not name the up process"
	API=http://127.0.0.1:$(sed -n 1p "$T/function/.devwatch/api")
	H=$T/function/handler/handler.py
	C=$P-hello-1
}

fn_invoke() {
	"$DEVWATCH" invoke -f "$PROJ" hello --data "$1" 2>"$T/invoke.err"
}

fn_post() {
	curl -s -o "$T/post.body" -w '%{http_code}' --max-time 90 -X POST \
		-H 'Content-Type: application/json' -d "$1" "$API/api/invoke/hello" >"$T/code"
	cat "$T/post.body"
}

fn_field() {
	python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

fn_starts() {
	docker logs "$C" 2>/dev/null | grep -c '^START RequestId' || true
}

fn_bg() {
	curl -s -o "$T/inv.$1" -w '%{http_code}' --max-time 120 -X POST \
		-H 'Content-Type: application/json' -d "$2" "$API/api/invoke/hello" >"$T/inv.$1.code" &
	FN_PIDS+=($!)
}

fn_wait() {
	local pid
	for pid in "${FN_PIDS[@]}"; do
		wait "$pid" || true
	done
	FN_PIDS=()
}

FN_PIDS=()
