#!/usr/bin/env bash
# A FROM scratch image (one static binary, no shell, no tools) gets the
# fast path through devwatch's own agent: writes (nested folders, modes,
# symlinks, hostile names), deletions of files and trees, and argv run
# steps with their output and exit codes. Ends by comparing the
# container's files with the local tree, file by file and mode by mode.
. "$(dirname "$0")/lib.sh"
dw_init scratch
mkdir -p "$T/p/src"
cd "$T/p"
build_tool tool
cat >Dockerfile <<'DF'
FROM scratch
COPY tool /tool
COPY src /app
CMD ["/tool", "serve"]
DF
echo base >src/base.txt
mkdir -p src/old/deep && echo old >src/old/deep/o.txt
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "app": {
  "build": { "context": "." },
  "env": { "STAMP_ENV": "from-env" },
  "live_update": [
    { "sync": { "from": "src", "to": "/app" } },
    { "run": { "cmd": ["/tool", "stamp", "/stamp.txt", "it's \$(not) a shell"], "trigger": ["src/go.txt"] } },
    { "run": { "cmd": ["/tool", "fail", "7"], "trigger": ["src/fail.txt"] } }
  ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
! docker exec "$P-app-1" sh -c true >/dev/null 2>&1 || fail "the image has a shell; the test proves nothing"
C=$P-app-1

dw_converge 30 "$C" /app src
mkdir -p src/a/b/c && echo deep >src/a/b/c/f.txt && echo top >src/a/t.txt
printf '#!/tool\n' >src/run.sh && chmod 750 src/run.sh
ln -s base.txt src/link && ln -s a/b src/dirlink
names=('it'"'"'s "quoted".txt' $'new\nline.txt' '$(touch pwned).txt' '-rf' 'ünïcødé ✓.txt')
for n in "${names[@]}"; do
	printf 'content of %s\n' "$n" >"src/$n"
done
dw_converge 30 "$C" /app src
rm -rf src/old src/link "src/-rf"
dw_converge 30 "$C" /app src
chmod 644 src/run.sh && echo more >>src/base.txt
dw_converge 30 "$C" /app src

# An argv run step: no shell in between, its output shown, the
# container's environment given.
echo go >src/go.txt
wait_for 30 sh -c "docker cp $C:/stamp.txt - 2>/dev/null | tar -xO | grep -qF \"it's \\\$(not) a shell uid=0 cwd=/ env=from-env\"" ||
	fail "the argv run step did not run with the container's environment"
wait_for 10 up_log_has "stamp said it's" || fail "the run step's output was not shown"
echo fail >src/fail.txt
wait_for 30 up_log_has "update failed: run .*'fail' '7'.* exited 7" || fail "a failing argv step was not reported with its code"
up_log_has "tool failing with 7" || fail "the failing step's output was not shown"
dw_converge 30 "$C" /app src
up_log_has "unavailable" && fail "a fallback was taken: $(grep unavailable "$T/up.log")"
docker exec "$C" /.devwatch/agent </dev/null >/dev/null || fail "the agent is not installed at /.devwatch/agent"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
