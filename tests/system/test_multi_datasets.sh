#!/usr/bin/env bash
# Datasets are stored when a container stops: a job's end, a replacement
# (a rebuild), and Ctrl-C. Each copy replaces the last whole, keeps modes
# and links, and writes nothing outside its sink, though the image's path
# holds links that point out of it.
. "$(dirname "$0")/lib.sh"
dw_init datasets
mkdir -p "$T/p/svc"
echo v1 >"$T/p/svc/version.txt"
cat >"$T/p/svc/Dockerfile" <<'DF'
FROM busybox:1.36
COPY version.txt /version.txt
RUN mkdir -p /out/sub && echo kept > /out/sub/mode.txt && chmod 0751 /out/sub/mode.txt && \
    ln -s sub/mode.txt /out/link && ln -s /etc/passwd /out/evil && ln -s ../../../../../../tmp /out/up
DF
cat >"$T/p/devwatch.json" <<JSON
{
  "name": "$P",
  "containers": {
    "report": { "image": "busybox:1.36", "pull": "never", "job": true,
                "cmd": "mkdir -p /out && echo 'rows: 3' > /out/report.txt",
                "datasets": [ { "path": "/out", "sink": "reports/job" } ] },
    "svc": { "build": "svc", "stop_grace": "1s",
             "cmd": "cp /version.txt /out/version.txt && date +%s%N > /out/stamp && exec sleep 3600",
             "datasets": [ { "path": "/out", "sink": "reports/svc" } ] }
  }
}
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
# 1. The job's end.
[ "$(cat "$T/p/reports/job/report.txt")" = "rows: 3" ] || fail "the job's dataset was not stored"
up_log_has "report +stored /out in reports/job · 1 file, 8 B" || fail "no line for the job's dataset"
[ ! -e "$T/p/reports/svc" ] || fail "svc's dataset was stored before svc stopped"
# 2. A replacement: the old container's copy lands before it goes.
stamp1=$(in_container svc cat /out/stamp)
echo v2 >"$T/p/svc/version.txt"
wait_for 120 test -f "$T/p/reports/svc/version.txt" || fail "no dataset from the replaced container"
[ "$(cat "$T/p/reports/svc/version.txt")" = v1 ] || fail "the replaced container's copy is not v1"
[ "$(cat "$T/p/reports/svc/stamp")" = "$stamp1" ] || fail "the copy is not the old container's"
wait_for 120 sh -c "[ \"\$(docker exec $P-svc-1 cat /out/version.txt 2>/dev/null)\" = v2 ]" ||
	fail "svc was not replaced by a v2 container"
check_copy() {
	[ "$(stat -c %a "$T/p/reports/svc/sub/mode.txt")" = 751 ] || fail "mode not kept"
	[ "$(readlink "$T/p/reports/svc/link")" = sub/mode.txt ] || fail "the link is not a link"
	[ "$(cat "$T/p/reports/svc/link")" = kept ] || fail "the link does not lead to its file"
	[ ! -e "$T/p/reports/svc/evil" ] && [ ! -L "$T/p/reports/svc/evil" ] || fail "a link out of the sink was written"
	[ ! -L "$T/p/reports/svc/up" ] || fail "a link climbing out of the sink was written"
	ls -d "$T/p/reports/svc".devwatch-* 2>/dev/null && fail "temporary folders left"
	true
}
check_copy
up_log_has "svc +stored /out in reports/svc · 3 files, .* · refused out/evil: a symlink pointing out of the sink" ||
	fail "no line saying what was stored and refused"
# 3. Ctrl-C: the running v2 container's copy replaces the v1 copy whole.
touch "$T/p/reports/svc/stale"
kill -INT "$UP_PID"
UP_RC=0
wait "$UP_PID" || UP_RC=$?
UP_PID=
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC after Ctrl-C"
[ "$(cat "$T/p/reports/svc/version.txt")" = v2 ] || fail "Ctrl-C did not store the v2 copy"
[ ! -e "$T/p/reports/svc/stale" ] || fail "the previous copy was not replaced whole"
check_copy
# Nothing landed outside the sinks.
extra=$(cd "$T/p" && find . -path ./reports -prune -o -path ./.devwatch -prune -o -path ./svc -prune -o -print | sort | tr '\n' ' ')
[ "$extra" = ". ./devwatch.json " ] || fail "unexpected files in the project: $extra"
[ "$(ls "$T/p/reports")" = "$(printf 'job\nsvc')" ] || fail "unexpected entries in reports: $(ls "$T/p/reports")"
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
