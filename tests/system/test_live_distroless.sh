#!/usr/bin/env bash
# A distroless-like image (no shell at all; /etc/passwd, a non-root user, a
# working folder, its program under /usr/bin) gets the fast path through
# devwatch's own agent, which runs as the container's user: writes and
# deletions in a folder that user owns, an argv run step that sees the
# user, the working folder and the environment, and a shell-form step that
# fails with a clear message instead of a fallback. Ends by comparing the
# container's files with the local tree, file by file and mode by mode.
. "$(dirname "$0")/lib.sh"
dw_init distroless
mkdir -p "$T/p/src/sub" "$T/p/root/etc" "$T/p/root/tmp"
cd "$T/p"
build_tool tool
chmod 1777 root/tmp
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >root/etc/passwd
printf 'root:x:0:\nnonroot:x:65532:\n' >root/etc/group
cat >Dockerfile <<'DF'
FROM scratch
COPY root /
COPY tool /usr/bin/tool
COPY --chown=65532:65532 src /home/nonroot/app
USER 65532:65532
WORKDIR /home/nonroot/app
ENV PATH=/usr/bin
CMD ["tool", "serve"]
DF
echo one >src/index.txt
echo s >src/sub/s.txt
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "app": {
  "build": { "context": "." },
  "env": { "STAMP_ENV": "distroless" },
  "live_update": [
    { "sync": { "from": "src", "to": "/home/nonroot/app" } },
    { "run": { "cmd": ["tool", "stamp", "/tmp/stamp.txt", "argv"], "trigger": ["src/go.txt"] } },
    { "run": { "cmd": "echo needs a shell", "trigger": ["src/shell.txt"] } }
  ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
C=$P-app-1
for sh in sh /bin/sh /bin/bash /busybox; do
	! docker exec "$C" "$sh" -c true >/dev/null 2>&1 || fail "the image has $sh; the test proves nothing"
done
A=/home/nonroot/app

dw_converge 30 "$C" $A src
echo two >src/index.txt && mkdir -p src/new/deeper && echo n >src/new/deeper/n.txt
chmod 600 src/sub/s.txt && ln -s ../index.txt src/new/up
dw_converge 30 "$C" $A src
rm -rf src/sub
dw_converge 30 "$C" $A src
echo go >src/go.txt
wait_for 30 sh -c "docker cp $C:/tmp/stamp.txt - 2>/dev/null | tar -xO | grep -qx 'argv uid=65532 cwd=$A env=distroless'" ||
	{ docker cp $C:/tmp/stamp.txt - | tar -xO; grep -v "^debug" $T/up.log | tail; fail "the argv step did not run as the container's user, in its folder, with its environment"; }
echo x >src/shell.txt
wait_for 30 up_log_has "update failed: run 'echo needs a shell' exited 127" || fail "a shell step in a shell-less image was not reported"
up_log_has "the image has no /bin/sh" || fail "no reason given for the shell step's failure"
dw_converge 30 "$C" $A src
up_log_has "unavailable" && fail "a fallback was taken: $(grep unavailable "$T/up.log")"
[ "$(docker cp "$C:$A/index.txt" - | tar --numeric-owner -tv | awk '{print $2}')" = "65532/65532" ] ||
	fail "files were not written as the container's user"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
